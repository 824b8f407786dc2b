"""The deployment topology, one OS process each: the wire-protocol MongoDB server, redis-server,
an Elasticsearch node, `marketplace migrate up`, `marketplace serve --workers 2` and
`marketplace indexer run` on the change stream. Everything is driven over HTTP and the CLI.

Cases: every kind of listing write reaches search (and the write->searchable lag at 20 writes/s),
200-way booking races across both workers, the indexer SIGKILLed under load, history lost while
it is down, a rebuild under load with searches running, and Elasticsearch stopped under writes.

The module's Elasticsearch node is its own (`PrivateNode`): one case stops it, and the session
node must never be touched. Run alone: ~4 min on two cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.topology import (
    PrivateNode,
    Topology,
    WriteLoad,
    connections_per_worker,
    create,
    eventually,
    future_day,
    future_hour,
    http_client,
    in_city,
    iso,
    percentile,
    register,
    search,
    search_ids,
    sync_marker,
)
from tests.services import RedisServer, WireMongoServer

pytestmark = pytest.mark.realmongo

LAG_WRITES = 200
LAG_RATE = 20.0  # writes per second
LAG_LISTINGS = 20
STORM = 200
KILLS = 5
OPLOG_MAX_ENTRIES = 100
SEED_PAST_TRIM = 1100  # listings seeded while the indexer is down (see the history-lost case)
ES_DOWN_S = 10.0
NO_REBUILD = ("history lost", "rebuilding the index", "rebuilt ")


# --- module processes -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def es_private() -> Iterator[PrivateNode]:
    node = PrivateNode(heap=os.environ.get("MARKETPLACE_E2E_ES_HEAP", "512m")).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def redis_private() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def wire() -> Iterator[WireMongoServer]:
    server = WireMongoServer().start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def topo(
    wire: WireMongoServer, redis_private: RedisServer, es_private: PrivateNode
) -> Iterator[Topology]:
    t = Topology("main", wire.url, f"{redis_private.url}", es_private.url)
    try:
        out = t.migrate()
        print(f"migrate up: {out.strip().splitlines()[-1]}")
        t.serve(workers=2)
        t.start_indexer()
        yield t
    finally:
        t.stop()


@pytest.fixture(scope="module")
async def host(topo: Topology) -> dict[str, str]:
    async with http_client(topo.base_url) as http:
        return await register(http, "host")


def _no_rebuild(output: str) -> None:
    low = output.lower()
    for needle in NO_REBUILD:
        assert needle not in low, f"unexpected {needle!r} in the indexer output:\n{output[-3000:]}"


def _verify_clean(topo: Topology) -> None:
    drift = topo.verify()
    print(f"verify: {drift.checked} checked, {drift.indexed} indexed, drift {drift.count}")
    assert drift.returncode == 0 and drift.count == 0, drift.output
    assert drift.checked > 0, drift.output


# --- 1. every write reaches search; lag ---------------------------------------------------------


async def test_listing_lifecycle_reaches_search(topo: Topology, host: dict[str, str]) -> None:
    city = f"Life{uuid.uuid4().hex[:10]}"
    async with http_client(topo.base_url) as http:
        guest = await register(http, "guest")

        async def ids(**params: Any) -> dict[str, dict[str, Any]]:
            return await search_ids(http, city=city, **params)

        # Created as a draft: not searchable. Published: searchable.
        r = await http.post("/v1/listings", json=in_city(city, title="Draft loft"), headers=host)
        assert r.status_code == 201, r.text
        lid = r.json()["id"]
        r = await http.post(f"/v1/listings/{lid}/publish", headers=host)
        assert r.status_code == 200, r.text
        await eventually(lambda: _has(ids(), lid), "published listing searchable")
        assert list(await ids()) == [lid]

        # Updated: the new title and price are what search returns.
        token = f"zq{uuid.uuid4().hex[:10]}"
        patch = {"title": f"Renamed {token}", "price": {"amount": 34500, "currency": "EUR"}}
        r = await http.patch(f"/v1/listings/{lid}", json=patch, headers=host)
        assert r.status_code == 200, r.text

        async def renamed() -> bool:
            hit = (await search_ids(http, q=token)).get(lid)
            return hit is not None and hit["price"]["amount"] == 34500

        await eventually(renamed, "update searchable")

        # Booked: the nights drop out of availability search, the listing stays searchable.
        nights = {"check_in": iso(future_day(30)), "check_out": iso(future_day(33))}
        assert lid in await ids(**nights)
        r = await http.post(
            "/v1/bookings", json={"listing_id": lid, "guests": 1, **nights}, headers=guest
        )
        assert r.status_code == 201, r.text

        async def booked_out() -> bool:
            return lid not in await ids(**nights) and lid in await ids()

        await eventually(booked_out, "booked nights unavailable in search")
        other = {"check_in": iso(future_day(40)), "check_out": iso(future_day(42))}
        assert lid in await ids(**other)

        # Unpublished (closed): gone. Published again: back. Deleted: gone.
        r = await http.post(f"/v1/listings/{lid}/close", headers=host)
        assert r.status_code == 200, r.text
        await eventually(lambda: _lacks(ids(), lid), "closed listing gone from search")
        r = await http.post(f"/v1/listings/{lid}/publish", headers=host)
        assert r.status_code == 200, r.text
        await eventually(lambda: _has(ids(), lid), "re-published listing searchable")
        r = await http.delete(f"/v1/listings/{lid}", headers=host)
        assert r.status_code == 204, r.text
        await eventually(lambda: _lacks(ids(), lid), "deleted listing gone from search")
        r = await http.get(f"/v1/listings/{lid}")
        assert r.status_code == 404, r.text


async def _has(hits: Any, lid: str) -> bool:
    return lid in await hits


async def _lacks(hits: Any, lid: str) -> bool:
    return lid not in await hits


async def test_write_to_searchable_lag(topo: Topology, host: dict[str, str]) -> None:
    """LAG_WRITES price updates at LAG_RATE/s over LAG_LISTINGS listings; one poller watches
    them all in search (a query per 20 ms) and stamps each write the moment it shows up."""
    city = f"Lag{uuid.uuid4().hex[:10]}"
    base_price = 100_000
    async with http_client(topo.base_url, connections=64) as http:
        lids = [
            await create(http, host, address={"line1": "x 1", "city": city, "country": "NL"})
            for _ in range(LAG_LISTINGS)
        ]

        async def all_visible() -> bool:
            return len(await search_ids(http, city=city)) == LAG_LISTINGS

        await eventually(all_visible, "lag listings searchable")

        sent: dict[int, float] = {}
        acked: dict[int, float] = {}
        seen: dict[int, float] = {}
        statuses: Counter[int] = Counter()

        async def write(k: int) -> None:
            body = {"price": {"amount": base_price + k, "currency": "EUR"}}
            sent[k] = time.monotonic()
            r = await http.patch(f"/v1/listings/{lids[k % LAG_LISTINGS]}", json=body, headers=host)
            acked[k] = time.monotonic()
            statuses[r.status_code] += 1

        async def poll() -> None:
            while len(seen) < LAG_WRITES:
                r = await search(http, city=city, limit=LAG_LISTINGS)
                now = time.monotonic()
                if r.status_code == 200:
                    price = {h["id"]: h["price"]["amount"] - base_price for h in r.json()["hits"]}
                    for k in list(sent):
                        if k not in seen and price.get(lids[k % LAG_LISTINGS], -1) >= k:
                            seen[k] = now
                await asyncio.sleep(0.02)

        poller = asyncio.create_task(poll())
        started = time.monotonic()
        writers = []
        for k in range(LAG_WRITES):
            await asyncio.sleep(max(0.0, started + k / LAG_RATE - time.monotonic()))
            writers.append(asyncio.create_task(write(k)))
        await asyncio.gather(*writers)
        span = time.monotonic() - started
        await asyncio.wait_for(poller, 120)
    assert statuses == Counter({200: LAG_WRITES}), statuses
    lag_ack = [max(0.0, seen[k] - acked[k]) * 1000 for k in range(LAG_WRITES)]
    lag_sent = [(seen[k] - sent[k]) * 1000 for k in range(LAG_WRITES)]
    write_ms = [(acked[k] - sent[k]) * 1000 for k in range(LAG_WRITES)]
    figures = {
        "lag_p50_ms": round(percentile(lag_ack, 50), 1),
        "lag_p99_ms": round(percentile(lag_ack, 99), 1),
        "lag_max_ms": round(max(lag_ack), 1),
        "from_request_p50_ms": round(percentile(lag_sent, 50), 1),
        "from_request_p99_ms": round(percentile(lag_sent, 99), 1),
        "write_p50_ms": round(percentile(write_ms, 50), 1),
        "write_p99_ms": round(percentile(write_ms, 99), 1),
        "writes": LAG_WRITES,
        "writes_per_s": round(LAG_WRITES / span, 1),
    }
    print(json.dumps(figures))
    assert figures["lag_p99_ms"] < 1000, figures


# --- 2. booking races over both workers ----------------------------------------------------------


class ConnectionSampler:
    """Samples, from /proc, how many client connections each `serve` worker holds."""

    def __init__(self, topo: Topology) -> None:
        assert topo.api is not None
        self.supervisor = topo.api.pid
        self.port = topo.port
        self.peak: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, n in connections_per_worker(self.supervisor, self.port).items():
                self.peak[pid] = max(self.peak[pid], n)
            time.sleep(0.02)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


async def _storm(
    topo: Topology, guests: list[dict[str, str]], lid: str, body: dict[str, Any]
) -> tuple[Counter[int], Counter[int]]:
    """STORM identical booking requests at once, each on its own connection."""
    async with http_client(topo.base_url, connections=STORM + 10) as http:
        with ConnectionSampler(topo) as sampler:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/v1/bookings",
                        json={"listing_id": lid, **body},
                        headers=guests[i % len(guests)],
                    )
                    for i in range(STORM)
                )
            )
    codes = Counter(r.status_code for r in responses)
    odd = Counter(
        (i % len(guests), r.status_code)
        for i, r in enumerate(responses)
        if r.status_code not in (201, 409)
    )
    assert not odd, f"(guest, status) -> count: {dict(odd)}; all: {dict(codes)}"
    return codes, sampler.peak


async def test_booking_races_across_workers(topo: Topology, host: dict[str, str]) -> None:
    async with http_client(topo.base_url) as http:
        guests = [await register(http, "guest") for _ in range(4)]
        nights = await create(http, host)
        hours = await create(http, host, unit="hour", capacity=12)
        items = await create(http, host, unit="item", stock=25, capacity=1)

    peaks: list[Counter[int]] = []
    night_body = {"check_in": iso(future_day(50)), "check_out": iso(future_day(53)), "guests": 1}
    codes, peak = await _storm(topo, guests, nights, night_body)
    peaks.append(peak)
    assert codes == Counter({201: 1, 409: STORM - 1}), codes

    hour_body = {"start": iso(future_hour(50, 9)), "end": iso(future_hour(50, 11)), "seats": 1}
    codes, peak = await _storm(topo, guests, hours, hour_body)
    peaks.append(peak)
    assert codes == Counter({201: 12, 409: STORM - 12}), codes

    codes, peak = await _storm(topo, guests, items, {"quantity": 1})
    peaks.append(peak)
    assert codes == Counter({201: 25, 409: STORM - 25}), codes

    print(f"peak client connections per worker pid, per storm: {[dict(p) for p in peaks]}")
    for peak in peaks:
        assert len([pid for pid, n in peak.items() if n > 0]) == 2, peaks


# --- 3. SIGKILL the indexer under load ----------------------------------------------------------


@pytest.mark.slow
async def test_indexer_sigkilled_under_write_load(topo: Topology, host: dict[str, str]) -> None:
    before = topo.concrete_index()
    rng = random.Random(5)
    async with http_client(topo.base_url) as http:
        load = WriteLoad(http, host, rate=15, seed=3).start()
        outputs: list[str] = []
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.8, 2.0))
            assert topo.indexer is not None and topo.indexer.alive(), topo.indexer
            topo.indexer.kill()
            outputs.append(topo.indexer.output())
            await asyncio.sleep(rng.uniform(0.1, 0.6))  # writes pile up while it is dead
            await topo.astart_indexer()
        await asyncio.sleep(1.0)
        ops = await load.stop()
        await sync_marker(http, host)
    assert topo.indexer is not None
    outputs.append(topo.indexer.output())
    print(f"{KILLS} SIGKILLs under {ops} writes")
    for out in outputs:
        _no_rebuild(out)
    assert topo.concrete_index() == before
    _verify_clean(topo)


# --- 6. rebuild under load, searches never fail --------------------------------------------------


@pytest.mark.slow
async def test_rebuild_under_load_swaps_alias(topo: Topology, host: dict[str, str]) -> None:
    before = topo.concrete_index()
    statuses: Counter[int] = Counter()
    stop = asyncio.Event()

    async def searches(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            r = await search(http, limit=20)
            statuses[r.status_code] += 1
            await asyncio.sleep(0.02)

    async with http_client(topo.base_url) as http:
        load = WriteLoad(http, host, rate=10, seed=6).start()
        searchers = [asyncio.create_task(searches(http)) for _ in range(2)]
        await asyncio.sleep(0.5)
        code, out = await topo.acli("index", "rebuild", "--chunk-size", "100")
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*searchers)
        ops = await load.stop()
        await sync_marker(http, host)
    print(f"rebuild under {ops} writes and {sum(statuses.values())} searches: {out.strip()[-200:]}")
    assert code == 0, out
    assert statuses and set(statuses) == {200}, statuses
    after = topo.concrete_index()
    assert after != before and after in out, (before, after, out)
    assert topo.status()["orphans"] == []
    _verify_clean(topo)


# --- 4. history lost while the indexer is down ---------------------------------------------------


@pytest.fixture(scope="module")
def small_oplog_topo(redis_private: RedisServer, es_private: PrivateNode) -> Iterator[Topology]:
    server = WireMongoServer(oplog_max_entries=OPLOG_MAX_ENTRIES).start()
    t = Topology("hist", server.url, redis_private.url, es_private.url)
    try:
        t.migrate()
        t.serve(workers=2)
        t.start_indexer()
        yield t
    finally:
        t.stop()
        server.cleanup()


@pytest.mark.slow
async def test_history_lost_while_indexer_down_rebuilds(small_oplog_topo: Topology) -> None:
    topo = small_oplog_topo
    async with http_client(topo.base_url) as http:
        host = await register(http, "host")
        lids = [await create(http, host) for _ in range(5)]
        await sync_marker(http, host)
        before = topo.concrete_index()
        assert topo.indexer is not None
        assert topo.indexer.stop() == 0, topo.indexer.tail()
        _no_rebuild(topo.indexer.output())

        # Far more changes than the oplog keeps, while nothing follows the stream.
        for k in range(OPLOG_MAX_ENTRIES * 2):
            body = {"price": {"amount": 5000 + k, "currency": "EUR"}}
            r = await http.patch(f"/v1/listings/{lids[k % len(lids)]}", json=body, headers=host)
            assert r.status_code == 200, r.text
        # The wire server trims its oplog to the cap only every 1000 entries written, so a bulk
        # load through the ops CLI pushes it past that point (one entry per document).
        code, out = topo.cli(
            "seed", "--listings", str(SEED_PAST_TRIM), "--users", "20", "--seed", "11"
        )
        assert code == 0, out

        indexer = await topo.astart_indexer()
        await indexer.await_for(r"history lost", 120)
        await indexer.await_for(r"rebuilt \S+", 180)
        out = indexer.output()
        assert "code 286" in out, out[-3000:]
        # The rebuilt index holds the last state of every listing.
        # The seed prices in many currencies: price bounds name the one they compare in.
        window = {"price_min": 5000, "price_max": 5000 + OPLOG_MAX_ENTRIES * 2}
        hits = await search_ids(http, currency="EUR", **window)
        last = {lids[k % len(lids)]: 5000 + k for k in range(OPLOG_MAX_ENTRIES * 2)}
        assert {lid: hits[lid]["price"]["amount"] for lid in lids if lid in hits} == last
        await sync_marker(http, host)
    after = topo.concrete_index()
    print(f"history lost: {before} -> {after}")
    assert after != before
    _verify_clean(topo)


# --- 5. Elasticsearch stopped under writes ------------------------------------------------------


@pytest.mark.slow
async def test_elasticsearch_stopped_under_writes(
    topo: Topology, host: dict[str, str], es_private: PrivateNode
) -> None:
    assert topo.indexer is not None
    indexer = topo.indexer
    mark = len(indexer.output())
    async with http_client(topo.base_url) as http:
        load = WriteLoad(http, host, rate=10, seed=9).start()
        await asyncio.sleep(1.0)
        es_private.kill()
        down_at = time.monotonic()
        await asyncio.sleep(ES_DOWN_S)  # writes go on while nothing listens on the port
        es_private.respawn()
        await es_private.wait_up()
        outage = time.monotonic() - down_at
        await asyncio.sleep(1.0)
        ops = await load.stop()
        await sync_marker(http, host, timeout_s=180)
    print(f"Elasticsearch down {outage:.1f}s (stopped {ES_DOWN_S:.0f}s + boot) under {ops} writes")
    out = indexer.output()[mark:]
    assert indexer.alive(), indexer.tail()
    assert "retrying" in out, out[-3000:]
    _no_rebuild(out)
    print("indexer retry lines:", sum("retrying" in line for line in out.splitlines()))
    _verify_clean(topo)
