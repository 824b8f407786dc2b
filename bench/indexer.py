"""Indexer benchmark: prints ONE JSON line.

Figures:
  raw_docs_per_s        async_bulk of pre-built search documents into a fresh index (baseline)
  rebuild_docs_per_s    `index rebuild` end to end: new index, snapshot read from Mongo with
                        projection, bulk load, replay, alias swap, drop of the old index
  rebuild_vs_raw_ratio  rebuild_docs_per_s / raw_docs_per_s          (target >= 0.8)
  lag_p50_ms/lag_p99_ms write (apply_write) -> visible to a search, under a steady write load
                        with the polling indexer running as a task  (target p99 < 1000 ms)
  changestream_lag_*    the same writes and checks with the change-stream indexer, against a
                        MongoDB server: the wire-protocol server started for the run (or the
                        replica set of MONGODB_URL)                  (target p99 < 1000 ms)

Mongo is the embedded store (mongomock) unless MONGODB_URL is set; Elasticsearch is a node
started for the run unless ELASTICSEARCH_URL is set. With mongomock, the writers, the polling
indexer and the checker share one Python process and every query is an O(n) scan (no indexes),
so the lag phases use their own, smaller store and a moderate write rate (both are options).
Run: python -m bench.indexer [--listings 5000] [--lag-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk

from bench.common import elasticsearch_url, pct, quiet
from documents import Listing
from indexers.aliases import create_index, drop_indexes, ensure_index, finish_bulk_load
from indexers.definition import alias_name
from indexers.projection import op_for_raw
from indexers.rebuild import SEARCHABLE, rebuild
from indexers.runner import Indexer, make_source
from indexers.writer import action


def make_settings(url: str, prefix: str, mongo_url: str | None = None) -> Any:
    from service.core.config import Settings

    return Settings(
        elasticsearch_url=url,
        elasticsearch_index_prefix=prefix,
        mongodb_url=mongo_url or os.environ.get("MONGODB_URL"),
        mongodb_database=f"bench_{uuid.uuid4().hex[:8]}",
        redis_url=None,
        seed_demo_listings=0,
        run_embedded_indexer=False,
    )


async def fresh_store(settings: Any, listings: int) -> Any:
    from service.core.mongo import init_db, make_client
    from service.seeding import seed_database

    client = make_client(settings)
    await init_db(client, settings)
    await seed_database(
        listings=listings, users=max(20, listings // 20), seed=42, settings=settings
    )
    return client


async def raw_bulk(es: AsyncElasticsearch, prefix: str, chunk: int) -> tuple[int, float]:
    """Pre-build every document first; time only the bulk load (plus its refresh)."""
    docs = []
    async for raw in Listing.get_motor_collection().find(SEARCHABLE):
        op = op_for_raw(raw)
        if op.doc is not None:
            docs.append(op)
    index = f"{prefix}raw-{uuid.uuid4().hex[:6]}"
    await create_index(es, index, bulk_load=True)
    actions = [action(op, index) for op in docs]
    started = time.perf_counter()
    ok, errors = await async_bulk(es, actions, chunk_size=chunk, max_retries=5)
    await finish_bulk_load(es, index)
    elapsed = time.perf_counter() - started
    assert not errors and ok == len(actions), errors
    await drop_indexes(es, [index])
    return len(actions), elapsed


async def lag_run(
    es: AsyncElasticsearch, settings: Any, seconds: float, rate: float, source: str = "polling"
) -> dict[str, Any]:
    alias = alias_name(settings.elasticsearch_index_prefix)
    from service.listings.store import apply_write

    if source == "polling":
        indexer = Indexer.polling(es, settings)
        await indexer.drain()
    else:
        # A change stream starts from "now": load what is there first, as an operator would.
        await rebuild(es, settings)
        indexer = Indexer(es, settings, make_source(source, settings))
        await indexer.open()
    await es.indices.refresh(index=alias)
    ids = [r["_id"] async for r in Listing.get_motor_collection().find(SEARCHABLE, {"_id": 1})]
    rng = random.Random(5)
    pending: dict[str, tuple[int, float]] = {}
    lags: list[float] = []
    task = asyncio.create_task(indexer.run())
    done = asyncio.Event()

    async def writer() -> int:
        n = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            oid = rng.choice(ids)
            t = time.perf_counter()
            updated = await apply_write(oid, {"$set": {"price.amount": rng.randrange(1, 10**6)}})
            assert updated is not None
            pending[str(oid)] = (updated.version, t)  # a newer write supersedes an older one
            n += 1
            next_at = started + n / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        done.set()
        return n

    async def checker() -> None:
        deadline = None
        while True:
            if done.is_set() and deadline is None:
                deadline = time.perf_counter() + 30
            if pending:
                want = dict(pending)
                resp = await es.search(
                    index=alias,
                    query={"ids": {"values": list(want)}},
                    size=len(want),
                    source=False,
                    version=True,
                )
                now = time.perf_counter()
                for hit in resp["hits"]["hits"]:
                    version, t = want[hit["_id"]]
                    if hit["_version"] >= version and pending.get(hit["_id"]) == (version, t):
                        del pending[hit["_id"]]
                        lags.append((now - t) * 1000)
            elif done.is_set():
                return
            if deadline is not None and time.perf_counter() > deadline:
                raise RuntimeError(f"{len(pending)} writes never became searchable")
            await asyncio.sleep(0.025)  # 25 ms resolution without flooding ES with searches

    writes, _ = await asyncio.gather(writer(), checker())
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    key = "lag" if source == "polling" else f"{source}_lag"
    return {
        f"{key}_writes": writes,
        f"{key}_measured": len(lags),
        f"{key}_p50_ms": round(pct(lags, 0.5), 1),
        f"{key}_p99_ms": round(pct(lags, 0.99), 1),
        f"{key}_max_ms": round(max(lags), 1),
    }


@contextlib.contextmanager
def server_mongo_url() -> Iterator[str]:
    """MONGODB_URL if set, else a fresh in-memory wire-protocol server for this run."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    from service.localnode.wire_server import WireMongoServer

    server = WireMongoServer().start()
    try:
        yield server.url
    finally:
        server.cleanup()


async def main(listings: int, lag_listings: int, lag_seconds: float, rate: float) -> dict:
    quiet()
    with elasticsearch_url() as url:
        prefix = f"bench{uuid.uuid4().hex[:8]}-"
        es = AsyncElasticsearch(url, request_timeout=120)
        try:
            settings = make_settings(url, prefix)
            client = await fresh_store(settings, listings)
            await ensure_index(es, prefix)
            n1, raw1 = await raw_bulk(es, prefix, 1000)
            report = await rebuild(es, settings, chunk_size=1000)
            n2, raw2 = await raw_bulk(es, prefix, 1000)
            client.close()
            raw_rate = (n1 + n2) / (raw1 + raw2)
            rebuild_rate = report.snapshot / report.seconds
            # Write -> searchable lag on a store of its own (mongomock scans are O(n); a real
            # MongoDB serves the poll from the updated_at_id index).
            lag_settings = make_settings(url, prefix)
            client = await fresh_store(lag_settings, lag_listings)
            lag = await lag_run(es, lag_settings, lag_seconds, rate)
            client.close()
            with server_mongo_url() as mongo_url:
                cs_settings = make_settings(url, f"{prefix}cs-", mongo_url)
                client = await fresh_store(cs_settings, lag_listings)
                lag |= await lag_run(es, cs_settings, lag_seconds, rate, "changestream")
                client.close()
        finally:
            for name in (await es.indices.get(index=f"{prefix}*")).body:
                await es.indices.delete(index=name)
            await es.close()
    return {
        "bench": "indexer",
        "listings": listings,
        "indexed": report.snapshot,
        "raw_docs_per_s": round(raw_rate),
        "rebuild_docs_per_s": round(rebuild_rate),
        "rebuild_s": round(report.seconds, 2),
        "rebuild_phases_s": report.phases,
        "rebuild_vs_raw_ratio": round(rebuild_rate / raw_rate, 3),
        "target_rebuild_ratio": 0.8,
        "lag_listings": lag_listings,
        "mongo": "real" if settings.mongodb_url else "mongomock (embedded)",
        "lag_write_rate_per_s": rate,
        **lag,
        "changestream_mongo": "MONGODB_URL" if os.environ.get("MONGODB_URL") else "wire server",
        "target_lag_p99_ms": 1000,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--lag-listings", type=int, default=1_000)
    parser.add_argument("--lag-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second")
    args = parser.parse_args()
    result = asyncio.run(main(args.listings, args.lag_listings, args.lag_seconds, args.rate))
    print(json.dumps(result))


if __name__ == "__main__":
    cli()
