"""X-Forwarded-For counts only from a configured proxy (finding 2).

A client that sets a fresh X-Forwarded-For per request must not get a fresh per-address auth
budget (or login lockout) each time; behind a configured proxy, the forwarded address is the
client, so two real clients behind it get a budget each."""

from __future__ import annotations

import httpx

from tests.hardening.conftest import AppFactory, client_for


def _login(i: int) -> dict[str, str]:
    # A different account each time: the per-account budget stays out of the way.
    return {"email": f"nobody{i}@example.com", "password": "whatever it is"}


async def _statuses(client: httpx.AsyncClient, n: int) -> list[int]:
    out = []
    for i in range(n):
        headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
        answer = await client.post("/v1/auth/login", json=_login(i), headers=headers)
        out.append(answer.status_code)
    return out


async def test_forwarded_for_from_an_unconfigured_peer_is_ignored(app_with: AppFactory) -> None:
    async with app_with(rate_limit_auth=3) as (_, client):
        statuses = await _statuses(client, 5)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429], "a spoofed X-Forwarded-For reset the per-address budget"


async def test_login_lockout_per_address_ignores_spoofed_forwarded_for(
    app_with: AppFactory,
) -> None:
    async with app_with(login_max_failures_per_ip=2, rate_limit_auth=100) as (_, client):
        statuses = await _statuses(client, 4)
    assert statuses == [401, 401, 429, 429]


async def test_forwarded_for_from_a_configured_proxy_is_the_client(app_with: AppFactory) -> None:
    async with app_with(rate_limit_auth=3, forwarded_allow_ips="10.0.0.0/8") as (app, client):
        # Not from the proxy: its header is still ignored.
        assert (await _statuses(client, 5))[3:] == [429, 429]
        async with client_for(app, "10.1.2.3") as proxy:
            # From the proxy: each forwarded client has its own budget.
            assert await _statuses(proxy, 5) == [401] * 5
            same = {"X-Forwarded-For": "198.51.100.7"}
            answers = [
                (await proxy.post("/v1/auth/login", json=_login(i), headers=same)).status_code
                for i in range(4)
            ]
    assert answers == [401, 401, 401, 429]
