"""Login brute force: per-account and per-IP failure budgets; a lock reveals nothing."""

from __future__ import annotations

import httpx

from documents import AuditEvent
from service import audit
from tests.hardening.conftest import AppFactory, client_for

PASSWORD = "the right password"


async def _register(client: httpx.AsyncClient, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "display_name": "B"}
    assert (await client.post("/v1/auth/register", json=body)).status_code == 201


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def test_account_lock_holds_for_the_guesser_but_not_for_a_clean_address(
    app_with: AppFactory,
) -> None:
    async with app_with(login_max_failures_per_account=3, rate_limit_auth=100) as (app, client):
        await _register(client, "victim@example.com")
        for _ in range(3):
            assert (await _login(client, "victim@example.com", "guess")).status_code == 401
        locked = await _login(client, "victim@example.com", PASSWORD)
        assert locked.status_code == 429
        assert locked.headers["content-type"] == "application/problem+json"
        assert 1 <= int(locked.headers["Retry-After"]) <= 900
        assert "token" not in locked.json()
        # No hard lock (finding 6): from an address without recent failures the right
        # password passes, a wrong one meets the lock (and taints that address too).
        async with client_for(app, "10.9.9.9") as other:
            assert (await _login(other, "victim@example.com", PASSWORD)).status_code == 200
            assert (await _login(other, "victim@example.com", "guess")).status_code == 429
            assert (await _login(other, "victim@example.com", PASSWORD)).status_code == 429
            # Other accounts from that address are unaffected.
            await _register(other, "bystander@example.com")
            assert (await _login(other, "bystander@example.com", PASSWORD)).status_code == 200
        failures = await AuditEvent.find(AuditEvent.action == audit.LOGIN_FAILED).to_list()
        assert sorted(e.ip or "" for e in failures) == ["10.9.9.9"] + ["127.0.0.1"] * 3
        assert all(e.subject_id for e in failures)
        assert all(PASSWORD not in str(e.data) and "guess" not in str(e.data) for e in failures)


async def test_lock_does_not_reveal_whether_the_email_exists(app_with: AppFactory) -> None:
    async with app_with(login_max_failures_per_account=2, rate_limit_auth=100) as (_, client):
        await _register(client, "real@example.com")
        answers = {}
        for email in ("real@example.com", "ghost@example.com"):
            for _ in range(2):
                assert (await _login(client, email, "nope")).status_code == 401
            r = await _login(client, email, "nope")
            answers[email] = (r.status_code, r.json()["detail"], r.json()["type"])
        assert answers["real@example.com"] == answers["ghost@example.com"]
        assert answers["real@example.com"][0] == 429


async def test_success_resets_the_account_budget(app_with: AppFactory) -> None:
    async with app_with(login_max_failures_per_account=3, rate_limit_auth=100) as (_, client):
        await _register(client, "reset@example.com")
        for _ in range(2):
            await _login(client, "reset@example.com", "bad")
        assert (await _login(client, "reset@example.com", PASSWORD)).status_code == 200
        for _ in range(2):
            assert (await _login(client, "reset@example.com", "bad")).status_code == 401
        assert (await _login(client, "reset@example.com", PASSWORD)).status_code == 200


async def test_one_ip_spraying_many_accounts_is_locked(app_with: AppFactory) -> None:
    async with app_with(
        login_max_failures_per_account=100, login_max_failures_per_ip=4, rate_limit_auth=100
    ) as (app, client):
        await _register(client, "sprayed@example.com")
        for i in range(4):
            assert (await _login(client, f"target{i}@example.com", "x")).status_code == 401
        r = await _login(client, "sprayed@example.com", PASSWORD)
        assert r.status_code == 429 and r.json()["locked"] == "client"
        async with client_for(app, "10.0.0.7") as other:
            assert (await _login(other, "sprayed@example.com", PASSWORD)).status_code == 200


async def test_ten_wrong_passwords_never_lock_the_owner_out(app_with: AppFactory) -> None:
    """Finding 6: 10 guesses from one address locked any account (admin too) for 15 minutes,
    right password included. The guesser stays locked; the owner elsewhere signs in."""
    async with app_with(rate_limit_auth=100) as (app, attacker):
        await _register(attacker, "admin@example.com")
        for _ in range(10):
            assert (await _login(attacker, "admin@example.com", "guess")).status_code == 401
        for _ in range(3):  # the brute-force budget holds: no more answers to guesses
            assert (await _login(attacker, "admin@example.com", "guess")).status_code == 429
        assert (await _login(attacker, "admin@example.com", PASSWORD)).status_code == 429
        async with client_for(app, "192.0.2.44") as owner:
            r = await _login(owner, "admin@example.com", PASSWORD)
            assert r.status_code == 200 and r.json()["token"]
        # The owner's sign-in does not hand the guesser a fresh budget.
        assert (await _login(attacker, "admin@example.com", "guess")).status_code == 429
