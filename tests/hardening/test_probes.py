"""Probes answer before the middleware (never limited, no RateLimit-*), readiness checks once
at a time and reuses only an all-ok result; the admission caps shed with 503 + Retry-After."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from service.core.admission import Gate
from service.core.errors import ProblemError
from service.ops.probes import Readiness
from tests.conftest import make_settings
from tests.hardening.conftest import AppFactory


async def test_probes_are_never_limited_and_send_no_rate_headers(app_with: AppFactory) -> None:
    async with app_with(rate_limit_read=1) as (_, client):
        assert (await client.get("/openapi.json")).status_code == 200
        limited = await client.get("/openapi.json")
        assert limited.status_code == 429 and "RateLimit-Limit" in limited.headers
        for _ in range(5):
            for path in ("/healthz", "/readyz"):
                r = await client.get(path, headers={"X-Request-ID": "probe-1"})
                assert r.status_code == 200, (path, r.text)
                assert not any(h.lower().startswith("ratelimit-") for h in r.headers), path
                assert r.headers["X-Request-ID"] == "probe-1"
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = (await client.get("/readyz")).json()
        assert ready == {
            "status": "ok",
            "checks": {"mongodb": "ok", "redis": "ok", "elasticsearch": "ok"},
        }


class _Backend:
    def __init__(self, delay_s: float = 0.05) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self.fail = False

    async def __call__(self, *_: object, **__: object) -> None:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("down")


def _state(mongo: _Backend, redis: _Backend, es: _Backend) -> SimpleNamespace:
    return SimpleNamespace(
        mongo_db=SimpleNamespace(command=mongo),
        redis=SimpleNamespace(ping=redis),
        es=SimpleNamespace(cluster=SimpleNamespace(health=es)),
    )


async def test_readiness_checks_once_at_a_time_and_reuses_only_ok() -> None:
    mongo, redis, es = _Backend(), _Backend(), _Backend()
    state = _state(mongo, redis, es)
    readiness = Readiness(make_settings(None, None, readyz_cache_s=60, readyz_timeout_s=1))
    results = await asyncio.gather(*(readiness.results(state) for _ in range(50)))
    assert all(r == {"mongodb": "ok", "redis": "ok", "elasticsearch": "ok"} for r in results)
    assert (mongo.calls, redis.calls, es.calls) == (1, 1, 1)  # one check for fifty probes
    await readiness.results(state)
    assert redis.calls == 1  # all ok: reused within READYZ_CACHE_S

    failing = Readiness(make_settings(None, None, readyz_cache_s=60, readyz_timeout_s=1))
    redis.fail = True
    assert (await failing.results(state))["redis"] == "unavailable: ConnectionError"
    redis.fail = False
    assert (await failing.results(state))["redis"] == "ok"  # a failure is never reused
    assert redis.calls == 3


async def test_readiness_times_out_fast_on_a_hung_backend() -> None:
    state = _state(_Backend(), _Backend(delay_s=30), _Backend())
    readiness = Readiness(make_settings(None, None, readyz_timeout_s=0.2))
    # The hung ping ends at READYZ_TIMEOUT_S; wait_for only keeps a regression from hanging.
    results = await asyncio.wait_for(readiness.results(state), timeout=10)
    assert results["redis"] == "unavailable: TimeoutError" and results["mongodb"] == "ok"


def _shed(exc: pytest.ExceptionInfo[ProblemError]) -> None:
    problem = exc.value
    assert problem.status == 503, problem.detail
    assert int(problem.headers["Retry-After"]) >= 1
    assert problem.type.endswith("/overloaded") and problem.extra["service"] == "elasticsearch"


async def test_per_client_cap_sheds_with_503_and_retry_after() -> None:
    gate = Gate(make_settings(None, None, client_max_in_flight=2, search_max_in_flight=8))
    async with gate.admit("ip:a"), gate.admit("ip:a"):
        with pytest.raises(ProblemError) as exc:
            async with gate.admit("ip:a"):
                pass
        _shed(exc)
        async with gate.admit("ip:b"):  # another client is not affected
            pass
    async with gate.admit("ip:a"):  # slots come back when the requests end
        pass


async def test_full_gate_sheds_at_once_when_the_wait_exceeds_the_budget() -> None:
    gate = Gate(
        make_settings(
            None, None, search_max_in_flight=1, search_queue_budget_s=0.05, client_max_in_flight=9
        )
    )
    gate._service_s = 1.0  # the recent service time: one request holds a slot for a second
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with gate.admit("ip:holder"):
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await asyncio.wait_for(holding.wait(), timeout=10)
        assert gate.expected_wait_s() > gate.budget_s
        with pytest.raises(ProblemError) as exc:
            async with gate.admit("ip:other"):
                pass
        assert gate._waiting == 0  # shed before queueing for a slot, not after the budget
        _shed(exc)
    finally:
        release.set()
        await holder
