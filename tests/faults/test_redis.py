"""Redis stopped and restarted: reads fail open, auth fails closed, sessions that can't be
checked are a 503 naming redis, /readyz names it; never a 500. Back up: everything recovers."""

from __future__ import annotations

import httpx

from tests.conftest import listing_body
from tests.faults.conftest import RedisServer
from tests.hardening.conftest import running_app


def _problem(r: httpx.Response, status: int, service: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    if service is not None:
        assert r.json()["service"] == service


async def _session(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    body = {"email": email, "password": "long enough pw", "display_name": "R", "roles": ["host"]}
    assert (await client.post("/v1/auth/register", json=body)).status_code == 201
    r = await client.post("/v1/auth/login", json={"email": email, "password": "long enough pw"})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_redis_down_defaults_then_restart(fault_redis: RedisServer, es_url: str) -> None:
    async with running_app(fault_redis.url, es_url) as (_, client):
        host = await _session(client, "redis-down@example.com")
        created = await client.post("/v1/listings", json=listing_body(), headers=host)
        lid = created.json()["id"]
        await client.post(f"/v1/listings/{lid}/publish", headers=host)

        fault_redis.stop()
        try:
            # Anonymous reads fail open: answered, with the nominal budget in the headers.
            for path in (f"/v1/listings/{lid}", "/v1/search/listings"):
                r = await client.get(path)
                assert r.status_code == 200, (path, r.text)
                assert "RateLimit-Limit" in r.headers
            # Liveness never waits on Redis: probes skip sessions and rate limits.
            assert (await client.get("/healthz")).status_code == 200
            # Auth fails closed: no limiter, no brute-force guard, no sessions -> 503 redis.
            login = await client.post(
                "/v1/auth/login", json={"email": "redis-down@example.com", "password": "x" * 9}
            )
            _problem(login, 503, "redis")
            register = await client.post(
                "/v1/auth/register",
                json={"email": "new@example.com", "password": "long enough", "display_name": "n"},
            )
            _problem(register, 503, "redis")
            # A presented session can't be checked: 503 naming redis, never 401 or 500.
            _problem(await client.get("/v1/me", headers=host), 503, "redis")
            _problem(
                await client.patch(f"/v1/listings/{lid}", json={"title": "x"}, headers=host),
                503,
                "redis",
            )
            ready = await client.get("/readyz")
            _problem(ready, 503, "redis")
            assert ready.json()["checks"]["redis"] != "ok"
        finally:
            fault_redis.start()

        # Back (empty: sessions were in memory): old tokens are simply unknown, logins work.
        assert (await client.get("/v1/me", headers=host)).status_code == 401
        again = await client.post(
            "/v1/auth/login",
            json={"email": "redis-down@example.com", "password": "long enough pw"},
        )
        assert again.status_code == 200
        fresh = {"Authorization": f"Bearer {again.json()['token']}"}
        assert (await client.get("/v1/me", headers=fresh)).status_code == 200
        assert (await client.get("/readyz")).status_code == 200
        r = await client.get(f"/v1/listings/{lid}")
        assert r.status_code == 200 and int(r.headers["RateLimit-Remaining"]) >= 0


async def test_redis_down_with_the_opposite_policies(fault_redis: RedisServer, es_url: str) -> None:
    async with running_app(
        fault_redis.url, es_url, rate_limit_fail_open_reads=False, rate_limit_fail_open_auth=True
    ) as (_, client):
        fault_redis.stop()
        try:
            # Reads fail closed now.
            _problem(await client.get("/v1/search/listings"), 503, "redis")
            # Liveness is not a read to limit: it stays 200 (readiness names redis).
            assert (await client.get("/healthz")).status_code == 200
            _problem(await client.get("/readyz"), 503, "redis")
            # Auth fails open past the limiter, but login itself needs Redis: still a 503,
            # answered by the brute-force guard's own check, never a 500.
            login = await client.post(
                "/v1/auth/login", json={"email": "a@example.com", "password": "x" * 9}
            )
            _problem(login, 503, "redis")
        finally:
            fault_redis.start()
        assert (await client.get("/healthz")).status_code == 200
