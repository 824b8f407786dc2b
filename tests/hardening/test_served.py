"""`marketplace serve` as a real process (uvicorn, loopback): what only the server shows.

One server per module, on the session's Elasticsearch node with its own index prefix and the
embedded Mongo/Redis, demo listings seeded and indexed in process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.localnode.children import spawn
from tests.services import free_port

MARKETPLACE = Path(sys.executable).parent / "marketplace"
pytestmark = pytest.mark.slow


@dataclass
class Served:
    base: str
    log: tempfile._TemporaryFileWrapper[bytes]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def served(es_url: str) -> Iterator[Served]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URL", "REDIS_URL")}
    env.update(
        {
            "ELASTICSEARCH_URL": es_url,
            "ELASTICSEARCH_INDEX_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
            "SEED_DEMO_LISTINGS": "120",
            "SESSION_COOKIE_SECURE": "false",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_AUTH": "3",
            # Out of the burst's reach: the burst test is about the concurrency caps (503).
            "RATE_LIMIT_SEARCH": "100000",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_KIB": "64",
            "ARGON2_PARALLELISM": "1",
        }
    )
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = spawn(
        [str(MARKETPLACE), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Served(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"serve exited early:\n{server.output()}"
            try:
                r = httpx.get(f"{server.base}/v1/search/listings?limit=1", timeout=5)
                if r.status_code == 200 and r.json()["total"] > 0:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not searchable in 180 s:\n{server.output()}"
            time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_spoofed_forwarded_for_gets_no_fresh_auth_budget(served: Served) -> None:
    """uvicorn believed any local peer's X-Forwarded-For: a fresh value per request was a fresh
    per-address budget. Now the TCP peer is the client unless FORWARDED_ALLOW_IPS says so."""
    statuses = []
    with httpx.Client(base_url=served.base, timeout=30) as client:
        for i in range(5):
            r = client.post(
                "/v1/auth/login",
                json={"email": f"spoof{i}@example.com", "password": "whatever it is"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            statuses.append(r.status_code)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429], served.output()


async def test_a_burst_of_searches_is_served_or_shed_fast(served: Served) -> None:
    """Finding 1: 500 concurrent searches from one client queued for seconds (p99 10.7 s) and
    /healthz with them (up to 5.2 s). Now each answer is a 200, or a fast 503 with Retry-After
    (the per-process and per-client concurrency caps shed load; the rate budget is set out of
    reach, so 429 would be a bug here); never a timeout or another status. /healthz, polled
    from another process during the burst, answers with p99 under 50 ms (the issue's bound)."""
    import asyncio
    import json

    poller = spawn(
        [sys.executable, "-m", "tests.hardening.probe_poller", f"{served.base}/healthz", "120"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert poller.stdout is not None and poller.stdin is not None
        assert poller.stdout.readline().strip() == "ready"
        await asyncio.sleep(0.2)  # a few polls before the burst: the idle baseline
        limits = httpx.Limits(max_connections=600, max_keepalive_connections=600)
        async with httpx.AsyncClient(base_url=served.base, timeout=30, limits=limits) as client:

            async def one(i: int) -> httpx.Response:
                return await client.get("/v1/search/listings", params={"q": f"cabin {i % 7}"})

            answers = await asyncio.gather(*(one(i) for i in range(500)))
        out, _ = poller.communicate("stop\n", timeout=30)
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait()
    polled = json.loads(out)
    statuses: dict[int, int] = {}
    for r in answers:
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code in (200, 503), (r.status_code, r.text)
        if r.status_code == 503:
            assert int(r.headers["Retry-After"]) >= 1
            assert r.json()["type"].endswith("/overloaded"), r.text
    assert statuses.get(200, 0) > 0, statuses
    health = sorted(polled["latencies"])
    assert not polled["failures"], polled["failures"][:5]
    assert len(health) >= 10, f"only {len(health)} /healthz polls during the burst"
    p99 = health[min(len(health) - 1, int(len(health) * 0.99))]
    p50, worst = health[len(health) // 2], health[-1]
    print(
        f"burst answers {statuses}; /healthz polls {len(health)}: p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms"
    )
    assert p99 < 0.050, f"/healthz p99 {p99 * 1000:.1f} ms during the burst (bound: 50 ms)"


def test_the_embedded_indexer_bumps_the_search_cache(served: Served) -> None:
    """The embedded default caches searches (SEARCH_CACHE_TTL_S, 30 s) in its in-process Redis
    and runs the polling indexer in process: its bump must drop a cached page once a change
    is searchable, long before the TTL would have."""
    from tests.conftest import listing_body

    # Another loopback address: the module's auth budget (3) is the spoof test's to spend.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=served.base, timeout=30, transport=transport) as client:
        email, password = f"cache{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
        reg = client.post(
            "/v1/auth/register",
            json={"email": email, "password": password, "display_name": "C", "roles": ["host"]},
        )
        assert reg.status_code == 201, reg.text
        login = client.post("/v1/auth/login", json={"email": email, "password": password})
        host = {"Authorization": f"Bearer {login.json()['token']}"}
        lid = client.post("/v1/listings", json=listing_body(title="Zeppelin hangar"), headers=host)
        lid = lid.json()["id"]
        assert client.post(f"/v1/listings/{lid}/publish", headers=host).status_code == 200

        def titles() -> list[str]:
            r = client.get("/v1/search/listings", params={"q": "zeppelin"})
            assert r.status_code == 200, r.text
            return [h["title"] for h in r.json()["hits"]]

        def until(want: list[str]) -> float:
            started = time.monotonic()
            while (seen := titles()) != want:
                # Bounded: well under the 30 s TTL, so only the bump can make it fresh.
                assert time.monotonic() - started < 15, (seen, served.output())
                time.sleep(0.1)
            return time.monotonic() - started

        until(["Zeppelin hangar"])
        assert titles() == ["Zeppelin hangar"]  # cached now
        patched = client.patch(
            f"/v1/listings/{lid}", json={"title": "Zeppelin hangar, renovated"}, headers=host
        )
        assert patched.status_code == 200, patched.text
        waited = until(["Zeppelin hangar, renovated"])
        print(f"a cached page was dropped {waited:.2f} s after the write")
