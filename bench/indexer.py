"""Indexer benchmark: prints ONE JSON line.

Figures:
  raw_docs_per_s        async_bulk of pre-built search documents into a fresh index (baseline)
  rebuild_docs_per_s    `index rebuild` end to end: new index, snapshot read from Mongo with
                        projection, bulk load, replay, alias swap, drop of the old index
  rebuild_vs_raw_ratio  rebuild_docs_per_s / raw_docs_per_s          (target >= 0.9)
  catchup_*             the change-stream indexer stopped, N changes written to the wire server
                        (one listing each, in turn), the indexer started again: changes/s until
                        it has drained them, and that rate / raw_docs_per_s (target >= 0.6);
                        stream_read_per_s: the same changes read from the stream alone (the
                        source's ceiling), and catchup_vs_stream_ratio against it;
                        raw_updates_per_s: the catch-up's own bulk requests (same ops and
                        versions, same request size and concurrency, same refresh pace) sent
                        straight to a copy of the index as the catch-up found it, the
                        identical work without the indexer; catchup_vs_raw_updates_ratio
  cli_rebuild           with --cli-rebuild N[,M...]: `marketplace index rebuild` as its own
                        process against the wire server seeded with N listings: seconds, docs/s
                        and its peak RSS; the RSS ratio of the largest to the smallest N
                        (target <= 1.5: the rebuild streams in bounded chunks)
  lag_p50_ms/lag_p99_ms write (apply_write) -> visible to a search, under a steady write load
                        with the polling indexer running as a task  (target p99 < 1000 ms)
  changestream_lag_*    the same writes and checks with the change-stream indexer, against a
                        MongoDB server: the wire-protocol server started for the run (or the
                        replica set of MONGODB_URL)                  (target p99 < 1000 ms)

Mongo is the embedded store (mongomock) unless MONGODB_URL is set; Elasticsearch is a node
started for the run unless ELASTICSEARCH_URL is set. With mongomock, the writers, the polling
indexer and the checker share one Python process and every query is an O(n) scan (no indexes),
so the lag phases use their own, smaller store and a moderate write rate (both are options).
Ctrl-C stops it at any point: cleanup gets a few seconds, then the process exits (its
Elasticsearch node and wire server die with it).
Run: python -m bench.indexer [--listings 5000] [--lag-seconds 5] [--cli-rebuild 100000,300000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bson import ObjectId
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk, async_scan
from pymongo import UpdateOne

from bench.common import elasticsearch_url, pct, quiet
from documents import Listing
from documents.values import utcnow
from indexers import checkpoints, heap, store
from indexers.aliases import create_index, drop_indexes, ensure_index, finish_bulk_load
from indexers.clients import bulk_es
from indexers.config import IndexerConfig
from indexers.definition import alias_name
from indexers.projection import op_for_raw
from indexers.rebuild import SEARCHABLE, rebuild, verify
from indexers.runner import Indexer, make_source
from indexers.writer import action

# After the first Ctrl-C, cleanup (delete the bench's indexes, stop the node) gets this long.
INTERRUPT_GRACE_S = 10.0


def stage(text: str) -> None:
    """Progress on stderr (stdout carries the one JSON line); tests wait for these."""
    print(f"bench.indexer: {text}", file=sys.stderr, flush=True)


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
        # A real Mongo server makes the settings refuse missing secrets; these live for one run.
        webhook_secret=secrets.token_hex(32),
        cursor_secret=secrets.token_hex(32),
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


async def raw_bulk(
    es: AsyncElasticsearch, prefix: str, chunk: int, concurrency: int
) -> tuple[int, float]:
    """Pre-build every document first; time only the bulk load (plus its refresh).

    The pre-build reads the store as the rebuild does (`store.snapshot`: the embedded store in
    place, a chunk at a time). Iterating a mongomock cursor instead copies its whole result
    list on every document: O(n^2), 18 minutes short of 300k (issue 16).

    The load sends the same bulk requests the rebuild's snapshot load does: chunks of `chunk`
    actions, `concurrency` requests in flight (INDEXER_BULK_CONCURRENCY, as the rebuild), each
    one `async_bulk`, into an index with the same bulk-load settings, with the heap frozen as
    the rebuild freezes it. A baseline sending one request at a time while the rebuild sends
    several would credit the rebuild with Elasticsearch's own parallelism."""
    index = f"{prefix}raw-{uuid.uuid4().hex[:6]}"

    def read(raw: dict[str, Any]) -> dict[str, Any] | None:
        op = op_for_raw(raw)
        return action(op, index) if op.doc is not None else None

    actions: list[dict[str, Any]] = []
    coll = Listing.get_motor_collection()
    async for built in store.snapshot(coll, SEARCHABLE, chunk, read):
        actions.extend(built)
        await asyncio.sleep(0)  # a Ctrl-C cancels between chunks
    await create_index(es, index, bulk_load=True)
    chunks = iter([actions[i : i + chunk] for i in range(0, len(actions), chunk)])
    outcomes: list[tuple[int, Any]] = []

    async def work() -> None:
        for part in chunks:  # one shared iterator: each chunk goes to exactly one worker
            outcomes.append(await async_bulk(es, part, chunk_size=chunk, max_retries=5))

    with heap.bulk_work():
        started = time.perf_counter()
        await asyncio.gather(*(work() for _ in range(max(1, concurrency))))
        await finish_bulk_load(es, index)
        elapsed = time.perf_counter() - started
    ok = sum(n for n, _ in outcomes)
    errors = [e for _, errs in outcomes for e in errs]
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


async def catchup_run(es: AsyncElasticsearch, settings: Any, changes: int) -> dict[str, Any]:
    """Stop the change-stream indexer, write `changes` changes, start it, time the catch-up.

    Change i updates listing i mod n (n >= one indexer batch), so no batch holds two changes
    of one listing: every change costs one Elasticsearch write, none is merged away."""
    await rebuild(es, settings)
    first = Indexer(es, settings, make_source("changestream", settings))
    await first.drain()  # opened, caught up and checkpointed (resume token saved)
    task = asyncio.create_task(first.run())
    await asyncio.sleep(0.5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    alias = alias_name(settings.elasticsearch_index_prefix)
    raw_index = f"{settings.elasticsearch_index_prefix}raw-updates"
    await copy_index(es, alias, raw_index)  # the baseline's index, as the writes will find it
    coll = Listing.get_motor_collection()
    ids = [r["_id"] async for r in coll.find(SEARCHABLE, {"_id": 1}).sort("_id", 1)]
    rng = random.Random(9)
    stage(f"catch-up: writing {changes} changes to {len(ids)} listings, indexer stopped")
    written = 0
    while written < changes:
        n = min(1000, changes - written)
        now = utcnow()
        batch = [
            UpdateOne(
                {"_id": ids[(written + i) % len(ids)]},
                {
                    "$set": {"price.amount": rng.randrange(1, 10**6), "updated_at": now},
                    "$inc": {"version": 1},
                },
            )
            for i in range(n)
        ]
        await coll.bulk_write(batch, ordered=False)
        written += n
    # The ops the catch-up will send, one per change in stream order; each lookup returns the
    # listing as it is now, so every change of one listing carries its newest version.
    current: dict[Any, Any] = {}
    async for built in store.snapshot(coll, SEARCHABLE, 1000, lambda raw: op_for_raw(raw)):
        current.update((ObjectId(op.listing_id), op) for op in built)
    sequence = [current[ids[i % len(ids)]] for i in range(written)]
    # Where the stopped indexer will resume: the stream-only reading below starts there too.
    checkpoint = checkpoints.checkpoint_name(alias, "changestream")
    saved = await checkpoints.load(checkpoint)
    assert saved is not None and saved.resume_token is not None
    stage("catch-up: indexer started")
    # `run()`, the loop `marketplace indexer run` uses (batches fill for up to the flush
    # interval); done when every change has an outcome in Elasticsearch.
    second = Indexer(es, settings, make_source("changestream", settings))
    started = time.perf_counter()
    task = asyncio.create_task(second.run())
    while (st := second.stats).indexed + st.stale + st.deleted + st.dead_letters < changes:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the indexer stopped before catching up")
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    handled = st.indexed + st.stale + st.deleted + st.dead_letters
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    drift = await verify(es, settings.elasticsearch_index_prefix)
    if drift.count:
        raise RuntimeError(f"catch-up left {drift.count} listings drifted")
    stage("catch-up: the same changes read from the stream alone")
    read_s = await stream_read(settings.mongodb_url, saved.resume_token, written)
    stage("catch-up: the same bulk requests sent straight to Elasticsearch")
    raw_s = await raw_updates(es, raw_index, sequence, IndexerConfig.of(settings))
    return {
        "catchup_changes": written,
        "catchup_handled": handled,
        "catchup_s": round(elapsed, 2),
        "catchup_changes_per_s": round(written / elapsed),
        # The source's own ceiling: the same events, through the same client and options,
        # with no projection and no Elasticsearch.
        "stream_read_per_s": round(written / read_s),
        "catchup_vs_stream_ratio": round(read_s / elapsed, 3),
        # The identical work without the indexer: the catch-up's own bulk requests, against a
        # copy of the index as the catch-up found it.
        "raw_updates_per_s": round(written / raw_s),
        "catchup_vs_raw_updates_ratio": round(raw_s / elapsed, 3),
    }


async def copy_index(es: AsyncElasticsearch, source: str, target: str) -> None:
    """A live index (same mappings and settings as the alias's) holding `source`'s documents at
    their versions. Scan and bulk: this Elasticsearch build has no reindex module."""
    await create_index(es, target)

    async def copies() -> Any:
        async for hit in async_scan(es, index=source, version=True):
            yield {
                "_index": target,
                "_id": hit["_id"],
                "_source": hit["_source"],
                "version": hit["_version"],
                "version_type": "external_gte",
            }

    await async_bulk(es, copies(), chunk_size=1000, max_retries=5)
    await es.indices.refresh(index=target)


async def raw_updates(
    es: AsyncElasticsearch, index: str, ops: list[Any], cfg: IndexerConfig
) -> float:
    """Seconds to send `ops` as the catch-up sends them, with nothing else: pre-built actions
    in requests of `batch_size` (one chunk per write), `bulk_concurrency` in flight, into an
    index refreshing at the catch-up's pace. A 409 (an older version after a newer one) is the
    outcome the indexer counts as stale, so it is an outcome here too."""
    actions = [action(op, index) for op in ops]
    size = cfg.batch_size
    chunks = iter([actions[i : i + size] for i in range(0, len(actions), size)])
    done = 0

    async def work() -> None:
        nonlocal done
        for part in chunks:  # one shared iterator: each request goes to exactly one worker
            ok, errors = await async_bulk(
                es, part, chunk_size=size, max_retries=5, raise_on_error=False
            )
            assert all(e[next(iter(e))]["status"] == 409 for e in errors), errors[:3]
            done += ok + len(errors)

    pace = f"{round(cfg.catchup_refresh_s * 1000)}ms" if cfg.catchup_refresh_s else "250ms"
    await es.indices.put_settings(index=index, settings={"refresh_interval": pace})
    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(max(1, cfg.bulk_concurrency))))
    elapsed = time.perf_counter() - started
    assert done == len(actions), (done, len(actions))
    await es.indices.delete(index=index)
    return elapsed


async def stream_read(url: str, token: dict[str, Any], changes: int) -> float:
    """Seconds to read `changes` events after `token` the way the indexer's source does."""
    feed = store.ChangeFeed(
        url,
        Listing.get_motor_collection(),
        full_document="updateLookup",
        resume_after=token,
        max_await_time_ms=250,
    )
    try:
        started = time.perf_counter()
        got = 0
        while got < changes:
            if await feed.try_next() is not None:
                got += 1
        return time.perf_counter() - started
    finally:
        await feed.close()


def cli_rebuild(mongo_url: str, es_url: str, listings: int) -> dict[str, Any]:
    """`marketplace index rebuild` in its own process over a store seeded with `listings`:
    its wall time and peak RSS (from the kernel's rusage of that one child)."""
    db = f"bench_{uuid.uuid4().hex[:8]}"
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = make_settings(es_url, prefix, mongo_url)
    settings = settings.model_copy(update={"mongodb_database": db})

    async def seed() -> None:
        client = await fresh_store(settings, listings)
        client.close()

    stage(f"cli rebuild: seeding {listings} listings into the wire server")
    asyncio.run(seed())
    env = {
        **os.environ,
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE": db,
        "ELASTICSEARCH_URL": es_url,
        "ELASTICSEARCH_INDEX_PREFIX": prefix,
        # Real Mongo: the settings refuse missing secrets; these live for this run only.
        "WEBHOOK_SECRET": secrets.token_hex(32),
        "CURSOR_SECRET": secrets.token_hex(32),
        "LOG_LEVEL": "WARNING",
    }
    from service.localnode.children import spawn

    stage(f"cli rebuild: marketplace index rebuild of {listings}")
    started = time.perf_counter()
    proc = spawn(
        [sys.executable, "-c", "from service.cli import app; app()", "index", "rebuild"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"index rebuild failed ({proc.returncode}): {err[-2000:]}")
    return {
        "listings": listings,
        "seconds": round(elapsed, 1),
        "docs_per_s": round(listings / elapsed),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is KiB on Linux
    }


@contextlib.contextmanager
def server_mongo_url(*, on_disk: bool = False) -> Iterator[str]:
    """MONGODB_URL if set, else a fresh wire-protocol server for this run: in memory, or
    `on_disk` in a temporary directory (the cli rebuilds: a million listings held in memory
    would take about 13 GB, 1.3 GB per 100k measured)."""
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    from service.localnode.wire_server import WireMongoServer

    with contextlib.ExitStack() as stack:
        storage = None
        if on_disk:
            storage = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wire-")))
        server = WireMongoServer(storage=storage).start()
        try:
            yield server.url
        finally:
            server.cleanup()


async def main(
    listings: int,
    lag_listings: int,
    lag_seconds: float,
    rate: float,
    catchup_changes: int = 50_000,
    catchup_listings: int = 5_000,
    url: str | None = None,
) -> dict:
    quiet()
    with contextlib.ExitStack() as stack:
        url = url or stack.enter_context(elasticsearch_url())
        prefix = f"bench{uuid.uuid4().hex[:8]}-"
        # The client `marketplace index rebuild` and `indexer run` use, for the raw baseline
        # and the indexer alike (both bulk through its serializer).
        es = bulk_es(url, request_timeout=120)
        try:
            settings = make_settings(url, prefix)
            stage(f"seeding {listings} listings (embedded store)")
            client = await fresh_store(settings, listings)
            await ensure_index(es, prefix)
            concurrency = IndexerConfig.of(settings).bulk_concurrency
            stage(f"raw bulk 1 (pre-build untimed), {concurrency} requests in flight")
            n1, raw1 = await raw_bulk(es, prefix, 1000, concurrency)
            stage("rebuild")
            report = await rebuild(es, settings, chunk_size=1000)
            stage("raw bulk 2")
            n2, raw2 = await raw_bulk(es, prefix, 1000, concurrency)
            client.close()
            raw_rate = (n1 + n2) / (raw1 + raw2)
            rebuild_rate = report.snapshot / report.seconds
            # Write -> searchable lag on a store of its own (mongomock scans are O(n); a real
            # MongoDB serves the poll from the updated_at_id index).
            lag_settings = make_settings(url, prefix)
            stage("lag (polling)")
            client = await fresh_store(lag_settings, lag_listings)
            lag = await lag_run(es, lag_settings, lag_seconds, rate)
            client.close()
            with server_mongo_url() as mongo_url:
                cs_settings = make_settings(url, f"{prefix}cs-", mongo_url)
                stage("lag (change stream, wire server)")
                client = await fresh_store(cs_settings, lag_listings)
                lag |= await lag_run(es, cs_settings, lag_seconds, rate, "changestream")
                client.close()
                if catchup_changes:
                    cu_settings = make_settings(url, f"{prefix}cu-", mongo_url)
                    stage(f"catch-up: seeding {catchup_listings} listings (wire server)")
                    client = await fresh_store(cu_settings, catchup_listings)
                    lag |= await catchup_run(es, cu_settings, catchup_changes)
                    client.close()
        finally:
            # An interrupted index creation may still be queued on the master (the request
            # was cancelled, not the task): let every queued change land before listing.
            with contextlib.suppress(Exception):
                await es.cluster.health(wait_for_events="languid", timeout="5s")
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
        "bulk_concurrency": concurrency,
        "target_rebuild_ratio": 0.9,
        "lag_listings": lag_listings,
        "mongo": "real" if settings.mongodb_url else "mongomock (embedded)",
        "lag_write_rate_per_s": rate,
        **lag,
        "changestream_mongo": "MONGODB_URL" if os.environ.get("MONGODB_URL") else "wire server",
        "target_lag_p99_ms": 1000,
        **(
            {
                "catchup_vs_raw_ratio": round(lag["catchup_changes_per_s"] / raw_rate, 3),
                "target_catchup_ratio": 0.6,
            }
            if "catchup_changes_per_s" in lag
            else {}
        ),
    }


def cli_rebuilds(sizes: list[int]) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        url = os.environ.get("ELASTICSEARCH_URL") or stack.enter_context(elasticsearch_url())
        runs = []
        for n in sizes:
            # A wire server per size: the rebuild reads a store holding exactly n listings.
            with server_mongo_url(on_disk=True) as mongo_url:
                runs.append(cli_rebuild(mongo_url, url, n))
    small, large = runs[0], runs[-1]
    return {
        "cli_rebuild": runs,
        "cli_rebuild_rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        "target_rss_ratio": 1.5,
    }


def _interruptible() -> None:
    """Ctrl-C: the first raises KeyboardInterrupt wherever the main thread is (also inside a
    long synchronous loop, where asyncio's own handler would only cancel at the next await)
    and gives cleanup INTERRUPT_GRACE_S; a second Ctrl-C, or the grace running out, exits."""

    def on_sigint(signum: int, frame: Any) -> None:
        if getattr(on_sigint, "armed", False):
            os._exit(130)
        on_sigint.armed = True  # type: ignore[attr-defined]
        timer = threading.Timer(INTERRUPT_GRACE_S, os._exit, args=(130,))
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--lag-listings", type=int, default=1_000)
    parser.add_argument("--lag-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second")
    parser.add_argument("--catchup-changes", type=int, default=50_000, help="0: skip")
    parser.add_argument("--catchup-listings", type=int, default=5_000)
    parser.add_argument(
        "--cli-rebuild",
        default="",
        help="comma list of store sizes: only measure `marketplace index rebuild` (time, RSS)",
    )
    args = parser.parse_args()
    _interruptible()
    try:
        if args.cli_rebuild:
            quiet()
            sizes = sorted(int(n) for n in args.cli_rebuild.split(","))
            result = {"bench": "indexer", **cli_rebuilds(sizes)}
        else:
            result = asyncio.run(
                main(
                    args.listings,
                    args.lag_listings,
                    args.lag_seconds,
                    args.rate,
                    args.catchup_changes,
                    args.catchup_listings,
                    url=os.environ.get("ELASTICSEARCH_URL"),
                )
            )
    except KeyboardInterrupt:
        stage("interrupted")
        sys.exit(130)
    print(json.dumps(result))


if __name__ == "__main__":
    cli()
