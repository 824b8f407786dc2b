"""Zero-downtime rebuild, verify (drift between Mongo and the index), repair, and status."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from elasticsearch import AsyncElasticsearch, NotFoundError
from elasticsearch.helpers import async_scan, async_streaming_bulk

from documents import DeadLetter, Listing, ListingStatus
from documents.values import as_utc, utcnow
from indexers import checkpoints, fx, heap, lease, metrics, store
from indexers.aliases import (
    alias_targets,
    create_index,
    drop_indexes,
    finish_bulk_load,
    swap_alias,
)
from indexers.config import IndexerConfig
from indexers.definition import MAPPING_VERSION, alias_name, index_pattern, new_index_name
from indexers.generation import bump_after
from indexers.projection import IndexOp, hard_delete_op, op_for_raw
from indexers.sources.polling import scan_since
from indexers.writer import RETRY_STATUS, BulkWriter, WriteStats, action

log = logging.getLogger(__name__)

SEARCHABLE: dict[str, Any] = {"status": ListingStatus.published.value, "deleted_at": None}
Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class RebuildReport:
    index: str
    dropped: list[str]
    snapshot: int
    replayed: int
    dead_letters: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step

    @property
    def docs_per_s(self) -> float:
        return self.snapshot / self.seconds if self.seconds else 0.0


def _snapshot_chunks(index: str, chunk_size: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Bulk actions for every searchable listing, a chunk at a time."""

    def read(raw: dict[str, Any]) -> dict[str, Any] | None:
        op = op_for_raw(raw)
        return action(op, index) if op.doc is not None else None

    return store.snapshot(Listing.get_motor_collection(), SEARCHABLE, chunk_size, read)


async def load_snapshot(
    es: AsyncElasticsearch,
    index: str,
    *,
    chunk_size: int = 1000,
    progress: Progress | None = None,
    concurrency: int = 2,
) -> tuple[int, int]:
    """Bulk-load every searchable listing into `index`; returns (loaded, dead letters).

    Reading Mongo and projecting (Python CPU) runs in its own task, feeding a queue of
    `concurrency` chunks, while `concurrency` workers each keep one bulk request in flight
    (Elasticsearch CPU): the two overlap instead of taking turns. Memory stays bounded by
    about 2 * concurrency + 1 chunks, whatever the catalogue size. Order between the bulks does
    not matter: the snapshot holds each listing once, and every write carries the listing's
    version with `external_gte`, so the replay that follows can only move a document forward.
    """
    # Only for progress reports: on the embedded store a count is a pass over every document.
    total = await store.count(Listing.get_motor_collection(), SEARCHABLE) if progress else 0
    workers = max(1, concurrency)
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=workers)
    loaded = dead = 0
    reported = 0

    async def produce() -> None:
        async for chunk in _snapshot_chunks(index, chunk_size):
            await queue.put(chunk)
        for _ in range(workers):
            await queue.put(None)

    async def send(chunk: list[dict[str, Any]]) -> None:
        nonlocal loaded, dead, reported
        versions = {a["_id"]: a["version"] for a in chunk}  # for dead letters
        async for ok, result in async_streaming_bulk(
            es,
            chunk,
            chunk_size=chunk_size,
            raise_on_error=False,
            max_retries=8,
            initial_backoff=0.5,
            max_backoff=10,
            retry_on_status=RETRY_STATUS,
        ):
            _, item = next(iter(result.items()))
            if ok or item.get("status") == 409:
                loaded += 1
                continue
            dead += 1
            metrics.ERRORS.labels("rejected").inc()
            await DeadLetter(
                listing_id=str(item.get("_id")),
                version=versions.get(str(item.get("_id")), -1),
                index=index,
                error={"status": item.get("status"), "error": item.get("error")},
            ).insert()
        if progress is not None and loaded + dead - reported >= chunk_size:
            reported = loaded + dead
            progress(reported, total)

    async def work() -> None:
        while (chunk := await queue.get()) is not None:
            await send(chunk)

    tasks = [asyncio.create_task(produce()), *(asyncio.create_task(work()) for _ in range(workers))]
    try:
        # A failing bulk (after its retries) or read stops the others; its own exception (not
        # an ExceptionGroup) reaches the caller, as before the workers.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if progress is not None:
        progress(loaded + dead, max(total, loaded + dead))
    return loaded, dead


async def replay_since(writer: BulkWriter, since: datetime, page: int = 1000) -> WriteStats:
    """Re-apply every listing changed at or after `since` (tombstones included)."""
    stats = WriteStats()
    batch: list[IndexOp] = []
    async for raw in scan_since(since, page):
        batch.append(op_for_raw(raw))
        if len(batch) >= page:
            stats.add(await writer.write(batch))
            batch = []
    if batch:
        stats.add(await writer.write(batch))
    return stats


async def rebuild(
    es: AsyncElasticsearch,
    settings: Any,
    *,
    chunk_size: int = 1000,
    progress: Progress | None = None,
) -> RebuildReport:
    """New concrete index, snapshot load, replay what changed meanwhile, atomic alias swap,
    drop the old index. Searches keep hitting the old index until the swap.

    The heap alive at the start is frozen for the rebuild (`heap.bulk_work`): with the
    embedded store in the process, the collector's full passes over it were half the load's
    Python time."""
    with heap.bulk_work():
        return await _rebuild(es, settings, chunk_size=chunk_size, progress=progress)


async def _rebuild(
    es: AsyncElasticsearch, settings: Any, *, chunk_size: int, progress: Progress | None
) -> RebuildReport:
    cfg = IndexerConfig.of(settings)
    overlap = timedelta(seconds=cfg.poll_overlap_s)
    began = time.monotonic()
    phases: dict[str, float] = {}
    mark = began

    def step(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 3)
        mark = now

    started = utcnow()
    await fx.refresh()  # the snapshot's sort figures use the newest exchange-rate table
    new = new_index_name(cfg.prefix)
    await create_index(es, new, bulk_load=True, shards=cfg.shards, replicas=cfg.replicas)
    step("create")
    swapped = False
    try:
        loaded, dead = await load_snapshot(
            es, new, chunk_size=chunk_size, progress=progress, concurrency=cfg.bulk_concurrency
        )
        step("snapshot")
        await finish_bulk_load(es, new, replicas=cfg.replicas)
        step("refresh")
        writer = BulkWriter(
            es,
            new,
            chunk_size=chunk_size,
            max_retries=cfg.max_retries,
            concurrency=cfg.bulk_concurrency,
        )
        # Changes made while the snapshot was read: they may be in it in an older state.
        replay_started = utcnow()
        replayed = await replay_since(writer, started - overlap)
        step("replay")
        dropped = await swap_alias(es, cfg.prefix, new)
        swapped = True
        step("swap")
        # Changes the live indexer sent to the old index between the replay and the swap.
        replayed.add(await replay_since(writer, replay_started - overlap))
        step("replay_after_swap")
        await bump_after(settings, "rebuild")  # searches now read the new index
        await drop_indexes(es, dropped)
        step("drop_old")
    except BaseException:
        if not swapped:
            await es.indices.delete(index=new, ignore_unavailable=True)
        raise
    seconds = time.monotonic() - began
    n_replayed = replayed.indexed + replayed.deleted + replayed.stale
    log.info("rebuilt %s: %d docs in %.1fs, %d replayed", new, loaded, seconds, n_replayed)
    return RebuildReport(
        new, dropped, loaded, n_replayed, dead + replayed.dead_letters, seconds, phases
    )


@dataclass
class Drift:
    checked: int = 0
    indexed: int = 0
    missing: list[str] = field(default_factory=list)  # searchable in Mongo, absent from ES
    extra: list[str] = field(default_factory=list)  # in ES, not searchable in Mongo
    stale: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (mongo, es) version

    @property
    def count(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.stale)

    @property
    def ids(self) -> list[str]:
        return sorted({*self.missing, *self.extra, *self.stale})


async def indexed_versions(es: AsyncElasticsearch, index: str) -> dict[str, int]:
    found: dict[str, int] = {}
    async for hit in async_scan(
        es, index=index, query={"query": {"match_all": {}}}, size=2000, _source=False, version=True
    ):
        found[hit["_id"]] = int(hit["_version"])
    return found


async def verify(es: AsyncElasticsearch, prefix: str) -> Drift:
    """Compare searchable listings in Mongo (id, version) with the index behind the alias."""
    expected: dict[str, int] = {}
    cursor = Listing.get_motor_collection().find(SEARCHABLE, {"version": 1})
    async for raw in cursor:
        expected[str(raw["_id"])] = int(raw.get("version", 1))
    await es.indices.refresh(index=alias_name(prefix))  # compare what searches would see
    actual = await indexed_versions(es, alias_name(prefix))
    drift = Drift(checked=len(expected), indexed=len(actual))
    drift.missing = sorted(set(expected) - set(actual))
    drift.extra = sorted(set(actual) - set(expected))
    drift.stale = {
        lid: (v, actual[lid])
        for lid, v in sorted(expected.items())
        if lid in actual and actual[lid] != v
    }
    return drift


@dataclass
class RepairReport:
    written: WriteStats
    rebuilt: RebuildReport | None = None  # when the index was ahead of Mongo


async def repair(es: AsyncElasticsearch, settings: Any, drift: Drift) -> RepairReport:
    """Make the drifted ids agree with Mongo again.

    Missing, extra and behind-Mongo documents are re-written from Mongo with versioned writes.
    An index *ahead* of Mongo (Mongo restored from a backup, or writes made outside the
    indexer) cannot be fixed that way: external versions only move forward and deletes leave
    versioned tombstones. Then the only honest repair is a rebuild into a fresh index.
    """
    cfg = IndexerConfig.of(settings)
    alias = alias_name(cfg.prefix)
    ahead = [lid for lid, (m, e) in drift.stale.items() if e > m]
    ids = drift.ids
    found: dict[str, IndexOp] = {}
    oids = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    async for raw in Listing.get_motor_collection().find({"_id": {"$in": oids}}):
        op = op_for_raw(raw)
        found[op.listing_id] = op
    ops = [found.get(lid) or hard_delete_op(lid) for lid in ids]
    writer = BulkWriter(
        es, alias, prefix=cfg.prefix, max_retries=cfg.max_retries, concurrency=cfg.bulk_concurrency
    )
    stats = await writer.write(ops, refresh=True)
    await bump_after(settings, "repair")
    if ahead or stats.stale:
        log.warning("index ahead of Mongo for %d listings: rebuilding", len(ahead) + stats.stale)
        return RepairReport(stats, await rebuild(es, settings))
    return RepairReport(stats)


async def status(es: AsyncElasticsearch, prefix: str) -> dict[str, Any]:
    """Alias, concrete index, doc count, mapping version, checkpoint ages, dead letters, and the
    indexer lease (holder, epoch, expiry; None when no `indexer run` ever took it)."""
    alias = alias_name(prefix)
    targets = await alias_targets(es, prefix)
    info: dict[str, Any] = {
        "alias": alias,
        "indexes": targets,
        "doc_count": None,
        "mapping_version": None,
        "code_mapping_version": MAPPING_VERSION,
    }
    if targets:
        info["doc_count"] = int((await es.count(index=alias))["count"])
        mapping = await es.indices.get_mapping(index=targets[0])
        meta = mapping.body[targets[0]]["mappings"].get("_meta", {})
        info["mapping_version"] = meta.get("mapping_version")
    try:
        all_indexes = await es.indices.get(index=index_pattern(prefix), expand_wildcards="all")
        info["orphans"] = sorted(set(all_indexes.body) - set(targets))
    except NotFoundError:
        info["orphans"] = []
    now = utcnow()
    info["checkpoints"] = [
        {
            "name": cp.name,
            "age_s": round((now - as_utc(cp.updated_at)).total_seconds(), 1),
            "position": as_utc(cp.last_updated_at).isoformat() if cp.last_updated_at else None,
            "has_resume_token": cp.resume_token is not None,
        }
        for cp in await checkpoints.all_checkpoints()
        if cp.name.startswith(f"{alias}:")
    ]
    info["dead_letters"] = await DeadLetter.get_motor_collection().count_documents({})
    held = await lease.current(alias)
    info["lease"] = None if held is None else held.as_status()
    return info
