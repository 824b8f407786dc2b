"""Rate-limit benchmark: prints ONE JSON line.

Figures:
  limiter_check_ms_p50        one Limiter.check (the GCRA Lua script, one round trip), direct
  redis_ping_ms_p50           a bare Redis PING on the same connection (raw baseline)
  check_vs_ping_ratio         limiter_check_ms_p50 / redis_ping_ms_p50
  api_ms_p50_with / _without  GET /v1/listings/{id} through the whole ASGI app (in process),
                              limiter on / off, sequential; also p95
  api_overhead_ratio_p50      api_ms_p50_with / api_ms_p50_without (the limiter's cost)
  api_overhead_ms_p50         api_ms_p50_with - api_ms_p50_without
  search_rps                  sustained GET /v1/search/listings rate through uvicorn on loopback
                              (a separate process, limiter on, `concurrency` clients, 200s only;
                              the index is built beforehand, the server runs no indexer)
  search_ms_p50 / p95         latency of those requests as the clients saw it
  raw_es_search_rps           the same query straight at Elasticsearch, same concurrency (baseline):
                              the very body the API builds for it (bench.http does this over
                              a query mix with an external load generator)
  search_vs_raw_es_ratio      search_rps / raw_es_search_rps
  search_non_200              answers other than 200 during the run (must be 0)
  search_rps_limiter_off      the same search load against a server with the limiter disabled
  search_rps_on_vs_off_ratio  search_rps / search_rps_limiter_off

Redis: REDIS_URL when set, else a throwaway redis-server on loopback. Elasticsearch:
ELASTICSEARCH_URL when set, else a LocalNode for the run. MongoDB: the embedded store inside the
bench process, seeded with demo listings and indexed once before the server starts.
Run: python -m bench.ratelimit [--small]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from elasticsearch import AsyncElasticsearch
from redis.asyncio import Redis

from bench.common import elasticsearch_url, pct, quiet
from documents import Listing
from documents.values import Address, GeoPoint, Money
from indexers.definition import alias_name
from service.app import create_app
from service.core.config import Settings
from service.core.ratelimit.limiter import Limiter, RouteClass

BIG = 10**9  # budgets high enough that the run measures the check, not rejections


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not installed and REDIS_URL not set")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _settings(redis: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "mongodb_url": None,
        "redis_url": redis,
        "elasticsearch_url": None,
        "seed_demo_listings": 0,
        "run_embedded_indexer": False,
        "run_booking_sweeper": False,
        "rate_limit_read": BIG,
        "rate_limit_search": BIG,
        "log_level": "WARNING",
        # Redis is a real server: placeholder or short secrets are refused.
        "webhook_secret": secrets.token_hex(32),
        "cursor_secret": secrets.token_hex(32),
    }
    base.update(overrides)
    return Settings(**base)


async def _direct(redis: str, n: int) -> dict[str, float]:
    client = Redis.from_url(redis)
    limiter = Limiter(client, _settings(redis))
    await limiter.check(RouteClass.read, "warm")
    checks, pings = [], []
    for i in range(n):
        t = time.perf_counter()
        await limiter.check(RouteClass.read, f"bench:{i % 50}")
        checks.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await client.ping()
        pings.append((time.perf_counter() - t) * 1000)
    await client.aclose()
    return {
        "limiter_check_ms_p50": round(pct(checks, 0.5), 4),
        "redis_ping_ms_p50": round(pct(pings, 0.5), 4),
        "check_vs_ping_ratio": round(pct(checks, 0.5) / pct(pings, 0.5), 3),
    }


async def _api_latency(redis: str, enabled: bool, n: int) -> list[float]:
    app = create_app(_settings(redis, rate_limit_enabled=enabled))
    async with LifespanManager(app):
        listing = Listing(
            owner_id="bench",
            title="Bench loft",
            category="apartment",
            location=GeoPoint(coordinates=(4.89, 52.37)),
            address=Address(line1="a", city="Amsterdam", country="NL"),
            price=Money(amount=1000, currency="EUR"),
            unit="night",
            status="published",
        )
        await listing.insert()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            url = f"/v1/listings/{listing.id}"
            for _ in range(50):  # warm-up
                await client.get(url)
            out = []
            for _ in range(n):
                t = time.perf_counter()
                r = await client.get(url)
                out.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
    return out


async def _load(
    url: str, concurrency: int, duration_s: float, params: dict[str, Any]
) -> tuple[int, int, list[float]]:
    ok = bad = 0
    lat: list[float] = []
    stop_at = time.monotonic() + duration_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal ok, bad
            while time.monotonic() < stop_at:
                t = time.perf_counter()
                r = await client.get(url, params=params)
                lat.append((time.perf_counter() - t) * 1000)
                if r.status_code == 200:
                    ok += 1
                else:
                    bad += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, bad, lat


async def _raw_es(es_url: str, index: str, concurrency: int, duration_s: float) -> float:
    es = AsyncElasticsearch(es_url, request_timeout=30)
    done = 0
    stop_at = time.monotonic() + duration_s
    # The body the API builds for its `q=apartment&limit=20` (fuzziness, sort, facets, total
    # hits and all): the baseline once compared against a cheaper `match` on the title alone.
    from documents.values import utcnow
    from service.search import query as sq
    from service.search.schemas import SearchFilters

    params = SearchFilters(q="apartment").to_params()
    fee_bps = _settings("redis://unused").guest_service_fee_bps
    body = sq.build_body(params, size=21, now=utcnow(), guest_fee_bps=fee_bps)

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            await es.search(index=index, **body)
            done += 1

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await es.close()
    return done / duration_s


async def _prepare_index(redis: str, es_url: str, prefix: str, listings: int) -> None:
    """Seed demo listings into a bench-local store and index them under `prefix`; the server
    then only serves searches (no in-process indexer competing for its CPU)."""
    from indexers.runner import Indexer
    from service.seeding import seed_database

    conf = _settings(redis, elasticsearch_url=es_url, elasticsearch_index_prefix=prefix)
    app = create_app(conf)
    async with LifespanManager(app, startup_timeout=120):
        await seed_database(listings=listings, users=max(20, listings // 10), seed=42)
        await Indexer.polling(app.state.es, conf).drain()
        await app.state.es.indices.refresh(index=alias_name(prefix))


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    raise SystemExit(f"server at {url} not ready after {timeout_s:.0f}s")


async def _serve_and_load(
    redis: str, es_url: str, prefix: str, concurrency: int, duration_s: float, limiter: bool
) -> dict[str, Any]:
    port = _free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis,
        "ELASTICSEARCH_URL": es_url,
        "ELASTICSEARCH_INDEX_PREFIX": prefix,
        "SEED_DEMO_LISTINGS": "0",
        "RUN_EMBEDDED_INDEXER": "false",
        "RUN_BOOKING_SWEEPER": "false",
        "RATE_LIMIT_ENABLED": "true" if limiter else "false",
        "RATE_LIMIT_SEARCH": str(BIG),
        "RATE_LIMIT_READ": str(BIG),
        "WEBHOOK_SECRET": secrets.token_hex(32),
        "CURSOR_SECRET": secrets.token_hex(32),
    }
    env.pop("MONGODB_URL", None)
    server = await asyncio.to_thread(_start_server, env, port)
    base = f"http://127.0.0.1:{port}"
    search = f"{base}/v1/search/listings"
    params = {"q": "apartment", "limit": 20}
    try:
        await asyncio.to_thread(_wait_http, f"{base}/healthz", 120)
        async with httpx.AsyncClient(timeout=10) as probe_client:
            probe = await probe_client.get(search, params=params)
            if probe.status_code != 200 or not probe.json().get("total"):
                raise SystemExit(f"search not serving: {probe.status_code} {probe.text[:200]}")
            await _load(search, concurrency, min(2.0, duration_s / 3), params)  # warm-up
            ok, bad, lat = await _load(search, concurrency, duration_s, params)
    finally:
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "rps": ok / duration_s,
        "p50": pct(lat, 0.5),
        "p95": pct(lat, 0.95),
        "bad": bad,
        "headers": "RateLimit-Limit" in probe.headers,
    }


async def _search_rate(
    redis: str, es_url: str, listings: int, concurrency: int, duration_s: float
) -> dict[str, Any]:
    prefix = f"bench-rl-{uuid.uuid4().hex[:8]}-"
    try:
        await _prepare_index(redis, es_url, prefix, listings)
        # Raw ES first: it also warms Elasticsearch for both API runs alike.
        raw = await _raw_es(es_url, alias_name(prefix), concurrency, duration_s)
        off = await _serve_and_load(redis, es_url, prefix, concurrency, duration_s, False)
        on = await _serve_and_load(redis, es_url, prefix, concurrency, duration_s, True)
    finally:
        es = AsyncElasticsearch(es_url)
        with contextlib.suppress(Exception):
            names = await es.indices.get(index=f"{prefix}*", expand_wildcards="all")
            for name in names.body:
                await es.indices.delete(index=name, ignore_unavailable=True)
        await es.close()
    return {
        "search_rps": round(on["rps"], 1),
        "search_ms_p50": round(on["p50"], 2),
        "search_ms_p95": round(on["p95"], 2),
        "search_concurrency": concurrency,
        "search_duration_s": duration_s,
        "search_listings": listings,
        "search_limiter_headers_present": on["headers"],
        "search_non_200": on["bad"] + off["bad"],
        "search_rps_limiter_off": round(off["rps"], 1),
        "search_rps_on_vs_off_ratio": round(on["rps"] / off["rps"], 3) if off["rps"] else None,
        "raw_es_search_rps": round(raw, 1),
        "search_vs_raw_es_ratio": round(on["rps"] / raw, 3) if raw else None,
    }


async def main(small: bool) -> dict[str, Any]:
    n = 300 if small else 2000
    out: dict[str, Any] = {"bench": "ratelimit", "small": small, "api_requests": n}
    with redis_url() as redis:
        out["redis"] = "REDIS_URL" if os.environ.get("REDIS_URL") else "redis-server (loopback)"
        out.update(await _direct(redis, n))
        # Interleave the two configurations so drift in machine load hits both alike.
        with_l, without = [], []
        for _ in range(2):
            without += await _api_latency(redis, False, n // 2)
            with_l += await _api_latency(redis, True, n // 2)
        p50w, p50o = pct(with_l, 0.5), pct(without, 0.5)
        out.update(
            {
                "api_ms_p50_with": round(p50w, 3),
                "api_ms_p50_without": round(p50o, 3),
                "api_ms_p95_with": round(pct(with_l, 0.95), 3),
                "api_ms_p95_without": round(pct(without, 0.95), 3),
                "api_overhead_ratio_p50": round(p50w / p50o, 3),
                "api_overhead_ms_p50": round(p50w - p50o, 3),
            }
        )
        with elasticsearch_url() as es_url:
            out.update(
                await _search_rate(
                    redis,
                    es_url,
                    listings=200 if small else 2000,
                    concurrency=8 if small else 32,
                    duration_s=4.0 if small else 10.0,
                )
            )
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run (fewer requests)")
    args = parser.parse_args()
    quiet()
    print(json.dumps(asyncio.run(main(args.small))))
