"""The GCRA limiter against real Redis, and its HTTP contract (headers, 429, keys, classes)."""

from __future__ import annotations

import asyncio

import httpx
import redis.asyncio as aioredis

from service.core.ratelimit.limiter import Limiter, RouteClass
from tests.conftest import make_settings
from tests.hardening.conftest import AppFactory, client_for
from tests.services import RedisServer


async def test_concurrent_clients_get_exactly_the_limit(redis_server: RedisServer) -> None:
    """N=200 concurrent checks against L=37 in one 600 s window -> exactly 37 allowed.

    Tolerance of the script: GCRA refills continuously at L/window, so over an elapsed time t
    it may admit floor(t * L / window) extra requests. Here one refill takes 600/37 = 16 s,
    far longer than the burst, so the documented tolerance is 0 and the count must be exact.
    """
    settings = make_settings(redis_server.url, None, rate_limit_write=37, rate_limit_window_s=600)
    clients = [aioredis.Redis.from_url(redis_server.url) for _ in range(8)]
    try:
        await clients[0].delete("rl:write:exactness")
        limiters = [Limiter(c, settings) for c in clients]
        loop = asyncio.get_running_loop()
        started = loop.time()
        decisions = await asyncio.gather(
            *(limiters[i % 8].check(RouteClass.write, "exactness") for i in range(200))
        )
        elapsed = loop.time() - started
        assert elapsed < 600 / 37, "burst slower than one refill; the tolerance would not be 0"
        allowed = [d for d in decisions if d.allowed]
        assert len(allowed) == 37
        # Every allowed answer saw a distinct remaining budget: 36, 35, ..., 0.
        assert sorted(d.remaining for d in allowed) == list(range(37))
        refused = [d for d in decisions if not d.allowed]
        assert all(d.retry_after_s >= 1 and d.remaining == 0 for d in refused)
    finally:
        for c in clients:
            await c.aclose()


async def test_budget_refills_over_time(redis_server: RedisServer) -> None:
    # Two per 2 s: one emission interval is 1 s (room for a slow machine between the checks).
    settings = make_settings(redis_server.url, None, rate_limit_read=2, rate_limit_window_s=2)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        await client.delete("rl:read:refill")
        limiter = Limiter(client, settings)
        assert (await limiter.check(RouteClass.read, "refill")).allowed
        assert (await limiter.check(RouteClass.read, "refill")).allowed
        third = await limiter.check(RouteClass.read, "refill")
        assert not third.allowed and third.retry_after_s == 1
        await asyncio.sleep(1.05)  # one emission interval later, one request's worth is back
        assert (await limiter.check(RouteClass.read, "refill")).allowed
    finally:
        await client.aclose()


async def test_every_response_carries_headers_and_429_is_a_problem(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=3) as (_, client):
        for expected_remaining in (2, 1, 0):
            r = await client.get("/openapi.json")
            assert r.status_code == 200
            assert r.headers["RateLimit-Limit"] == "3"
            assert r.headers["RateLimit-Remaining"] == str(expected_remaining)
            assert int(r.headers["RateLimit-Reset"]) >= 1
        r = await client.get("/v1/listings/000000000000000000000000")
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["RateLimit-Remaining"] == "0"
        body = r.json()
        assert body["status"] == 429 and body["route_class"] == "read"
        # Unmatched paths and error answers carry the headers too.
        r = await client.post("/v1/auth/login", json={})
        assert r.status_code == 422 and "RateLimit-Limit" in r.headers


async def test_anonymous_callers_are_keyed_by_ip(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=2) as (application, client):
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 429
        async with client_for(application, "10.1.2.3") as other:
            r = await other.get("/openapi.json")
            assert r.status_code == 200 and r.headers["RateLimit-Remaining"] == "1"


async def test_authenticated_callers_are_keyed_by_user(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=3, rate_limit_auth=50) as (_, client):
        tokens = []
        for i in range(2):
            email = f"ratekey{i}@example.com"
            body = {"email": email, "password": "long enough pw", "display_name": "R"}
            assert (await client.post("/v1/auth/register", json=body)).status_code == 201
            login = await client.post(
                "/v1/auth/login", json={"email": email, "password": "long enough pw"}
            )
            tokens.append(login.json()["token"])
        first = {"Authorization": f"Bearer {tokens[0]}"}
        second = {"Authorization": f"Bearer {tokens[1]}"}
        for _ in range(3):
            assert (await client.get("/v1/me", headers=first)).status_code == 200
        assert (await client.get("/v1/me", headers=first)).status_code == 429
        # The web cookie is the same identity as the bearer token: same (spent) budget.
        cookie = {"Cookie": f"mp_session={tokens[0]}"}
        assert (await client.get("/v1/me", headers=cookie)).status_code == 429
        # Same IP, other user: its own budget. Anonymous from that IP: its own budget as well.
        assert (await client.get("/v1/me", headers=second)).status_code == 200
        assert (await client.get("/openapi.json")).status_code == 200


async def test_route_classes_have_separate_budgets(app_with: AppFactory) -> None:
    async with app_with(rate_limit_auth=2, rate_limit_read=100) as (_, client):
        body = {"email": "x@example.com", "password": "wrong password"}
        statuses = [(await client.post("/v1/auth/login", json=body)).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        r = await client.get("/openapi.json")
        assert r.status_code == 200 and r.headers["RateLimit-Limit"] == "100"


async def test_limiter_can_be_disabled(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=1, rate_limit_enabled=False) as (_, client):
        for _ in range(3):
            r: httpx.Response = await client.get("/openapi.json")
            assert r.status_code == 200
