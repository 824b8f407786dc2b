"""Crash/resume, graceful shutdown, rebuild under load with the alias swap, verify + repair."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from typer.testing import CliRunner

from documents import Listing, ListingStatus
from documents.values import as_utc, utcnow
from indexers import checkpoints
from indexers.aliases import alias_targets
from indexers.definition import MAPPING_VERSION, alias_name
from indexers.projection import IndexOp, op_for
from indexers.rebuild import rebuild, repair, verify
from indexers.rebuild import status as index_status
from indexers.runner import Indexer
from indexers.writer import BulkWriter, WriteStats
from service.core.config import Settings
from service.listings.store import apply_write
from tests.conftest import _drop_test_indices
from tests.indexers.helpers import index_state, insert, make_listing, mongo_state, oid

pytestmark = pytest.mark.stores  # embedded and server tiers


class Crash(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the indexer catches it."""


class CrashingWriter(BulkWriter):
    """Dies on the n-th batch, either before sending it or after ES acknowledged it.

    Records what each call was given and which calls reached Elasticsearch: the runner keeps
    up to `bulk_concurrency` batches in flight, so a later batch may be sent (and land) while
    the crashing one is out."""

    def __init__(self, *args: Any, crash_on: int, after_flush: bool, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.calls = 0
        self.crash_on = crash_on
        self.after_flush = after_flush
        self.batches: list[list[IndexOp]] = []  # the ops of call i + 1
        self.sent: set[str] = set()  # listing ids of every call that reached Elasticsearch

    async def write(self, ops: Sequence[IndexOp], *, refresh: bool = False) -> WriteStats:
        self.calls += 1
        call = self.calls  # not self.calls after the await: the next write may have begun
        self.batches.append(list(ops))
        if call == self.crash_on and not self.after_flush:
            raise Crash
        self.sent.update(op.listing_id for op in ops)
        stats = await super().write(ops, refresh=refresh)
        if call == self.crash_on:
            raise Crash  # acknowledged by ES, checkpoint not yet stored
        return stats


async def _churn(listings: list[Listing], rounds: int, rng: random.Random) -> None:
    """Concurrent writers: price changes, unpublish/publish, soft deletes."""
    for i in range(rounds):
        target = rng.choice(listings)
        roll = rng.random()
        if roll < 0.6:
            update = {"$set": {"price.amount": rng.randrange(1000, 90_000)}}
        elif roll < 0.8:
            status = rng.choice([ListingStatus.closed, ListingStatus.published])
            update = {"$set": {"status": status.value}}
        else:
            update = {"$set": {"deleted_at": utcnow()}}
        await apply_write(oid(target), update)
        if i % 5 == 0:
            await asyncio.sleep(0)


@pytest.mark.parametrize("after_flush", [False, True], ids=["before_flush", "after_flush"])
async def test_crash_mid_stream_then_resume_loses_nothing(
    app, es: AsyncElasticsearch, settings: Settings, after_flush: bool
) -> None:
    prefix = settings.elasticsearch_index_prefix
    cfg = settings.model_copy(update={"indexer_batch_size": 15})
    rng = random.Random(7)
    listings = await insert(*(make_listing(title=f"listing {i}") for i in range(90)))
    writer = CrashingWriter(
        es, alias_name(prefix), prefix=prefix, crash_on=3, after_flush=after_flush
    )
    first = Indexer.polling(es, cfg, writer=writer)
    task = asyncio.create_task(first.run())
    churn = asyncio.create_task(_churn(listings, 120, rng))
    with pytest.raises(Crash):
        await task
    await churn
    cp = await checkpoints.load(first.source.checkpoint)  # type: ignore[attr-defined]
    assert cp is not None  # two batches were acknowledged and checkpointed
    assert cp.last_updated_at is not None and cp.last_id is not None
    # The checkpoint never passes a batch that did not complete: it lies within the batches
    # before the crashing one (all acknowledged), whatever was in flight after it.
    completed = [op for batch in writer.batches[: writer.crash_on - 1] for op in batch]
    assert completed
    last_safe = max((as_utc(op.updated_at), op.listing_id) for op in completed if op.updated_at)
    assert (as_utc(cp.last_updated_at), cp.last_id) <= last_safe
    # Only what was sent is in the index (a batch in flight beside the crash may have landed).
    indexed_before = await index_state(es, prefix)
    assert indexed_before and set(indexed_before) <= writer.sent

    await _churn(listings, 40, rng)  # writes while the indexer is down
    second = Indexer.polling(es, cfg)  # a fresh process: resumes from the stored checkpoint
    await second.drain()
    assert await index_state(es, prefix) == await mongo_state()
    if after_flush:
        assert second.stats.stale + second.stats.indexed + second.stats.deleted > 0


async def test_cancel_flushes_what_is_buffered(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    entered = asyncio.Event()

    class StallOnce(BulkWriter):
        calls = 0

        async def write(self, ops: Sequence[IndexOp], *, refresh: bool = False) -> WriteStats:
            self.calls += 1
            if self.calls == 1:
                entered.set()
                await asyncio.Event().wait()  # stuck in flight when shutdown begins
            return await super().write(ops, refresh=refresh)

    await insert(*(make_listing(title=f"l{i}") for i in range(12)))
    indexer = Indexer.polling(es, settings, writer=StallOnce(es, alias_name(prefix), prefix=prefix))
    task = asyncio.create_task(indexer.run())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert indexer.buffered == 0
    assert await index_state(es, prefix) == await mongo_state()
    assert await checkpoints.load(indexer.source.checkpoint) is not None  # type: ignore[attr-defined]


async def test_rebuild_under_concurrent_writes_and_searches_swaps_without_drift(
    app, client, es: AsyncElasticsearch, settings: Settings
) -> None:
    prefix = settings.elasticsearch_index_prefix
    rng = random.Random(11)
    listings = await insert(
        *(make_listing(title=f"home {i}", price=1000 + 37 * i) for i in range(200))
    )
    live = Indexer.polling(es, settings)
    await live.drain()
    (old_index,) = await alias_targets(es, prefix)
    live_task = asyncio.create_task(live.run())
    stop = asyncio.Event()
    searches: list[int] = []

    async def search_loop() -> None:
        while not stop.is_set():
            r = await client.get("/v1/search/listings", params={"q": "home", "limit": 5})
            searches.append(r.status_code)
            assert r.status_code == 200, r.text
            await asyncio.sleep(0.02)

    async def write_loop() -> None:
        while not stop.is_set():
            await _churn(listings, 3, rng)
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(search_loop()), asyncio.create_task(write_loop())]
    progress: list[tuple[int, int]] = []
    report = await rebuild(
        es, settings, chunk_size=50, progress=lambda d, t: progress.append((d, t))
    )
    await asyncio.sleep(0.3)  # a few more writes and searches against the new index
    stop.set()
    await asyncio.gather(*tasks)
    live_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await live_task
    await Indexer.polling(es, settings).drain()  # whatever the live one had not reached yet

    assert searches and set(searches) == {200}
    assert await alias_targets(es, prefix) == [report.index] and report.index != old_index
    assert not await es.indices.exists(index=old_index)
    assert report.dropped == [old_index]
    assert progress and progress[-1][0] == report.snapshot
    assert await index_state(es, prefix) == await mongo_state()
    drift = await verify(es, prefix)
    assert drift.count == 0


async def test_verify_detects_and_repair_fixes_injected_drift(
    app, es: AsyncElasticsearch, settings: Settings, indexer: Indexer
) -> None:
    prefix = settings.elasticsearch_index_prefix
    alias = alias_name(prefix)
    ls = await insert(*(make_listing(title=f"x{i}") for i in range(8)))
    draft = (await insert(make_listing(title="draft", status=ListingStatus.draft)))[0]
    await indexer.drain()
    assert (await verify(es, prefix)).count == 0

    # 1. a lost write: the document is gone (a versioned delete, as a bad replay would do)
    await es.delete(index=alias, id=str(ls[0].id), version=1, version_type="external_gte")
    # 2. a document that must not be there: the draft
    stray = op_for(ls[1]).doc | {"id": str(draft.id)}
    await es.index(
        index=alias, id=str(draft.id), document=stray, version=1, version_type="external_gte"
    )
    # 3. Mongo moved on without the indexer (a write it has not seen yet)
    await apply_write(oid(ls[2]), {"$set": {"price.amount": 4242}})

    drift = await verify(es, prefix)
    assert (drift.missing, drift.extra) == ([str(ls[0].id)], [str(draft.id)])
    assert drift.stale == {str(ls[2].id): (2, 1)}
    report = await repair(es, settings, drift)
    assert report.rebuilt is None  # versioned writes were enough
    assert (await verify(es, prefix)).count == 0
    got = await es.get(index=alias, id=str(ls[2].id))
    assert got["_source"]["price"]["amount"] == 4242

    # 4. the index ahead of Mongo (e.g. Mongo restored from a backup): only a rebuild helps
    (before,) = await alias_targets(es, prefix)
    doc = op_for(ls[3]).doc
    await es.index(index=alias, id=str(ls[3].id), document=doc, version=50, version_type="external")
    drift = await verify(es, prefix)
    assert drift.stale == {str(ls[3].id): (1, 50)}
    report = await repair(es, settings, drift)
    assert report.rebuilt is not None and report.rebuilt.dropped == [before]
    assert (await verify(es, prefix)).count == 0

    info = await index_status(es, prefix)
    assert info["alias"] == alias and info["doc_count"] == 8
    assert info["mapping_version"] == MAPPING_VERSION
    assert info["checkpoints"] and info["checkpoints"][0]["age_s"] >= 0


def test_cli_index_status_verify_rebuild(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands run end to end (their own embedded store, which is empty)."""
    from service.cli import app as cli
    from service.core.config import get_settings

    monkeypatch.setenv("ELASTICSEARCH_URL", settings.elasticsearch_url or "")
    monkeypatch.setenv("ELASTICSEARCH_INDEX_PREFIX", settings.elasticsearch_index_prefix)
    monkeypatch.delenv("MONGODB_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        r = runner.invoke(cli, ["index", "rebuild", "--chunk-size", "100"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli, ["index", "status"])
        assert r.exit_code == 0, r.output
        assert f'"alias": "{settings.elasticsearch_index_prefix}listings"' in r.output
        r = runner.invoke(cli, ["index", "verify", "--repair"])
        assert r.exit_code == 0, r.output
        assert "0 missing, 0 extra, 0 stale" in r.output
        r = runner.invoke(cli, ["indexer", "run", "--once"])
        assert r.exit_code == 0, r.output
    finally:
        get_settings.cache_clear()
        asyncio.run(_drop_test_indices(settings))


async def test_crash_resume_and_rebuild_on_the_query_path(
    app, es: AsyncElasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a real MongoDB runs: scans and snapshots as queries, not embedded-store reads."""
    from indexers import store as embedded

    monkeypatch.setattr(embedded, "ENABLED", False)
    prefix = settings.elasticsearch_index_prefix
    cfg = settings.model_copy(update={"indexer_batch_size": 10})
    rng = random.Random(3)
    listings = await insert(*(make_listing(title=f"q {i}") for i in range(40)))
    writer = CrashingWriter(es, alias_name(prefix), prefix=prefix, crash_on=2, after_flush=True)
    task = asyncio.create_task(Indexer.polling(es, cfg, writer=writer).run())
    churn = asyncio.create_task(_churn(listings, 40, rng))
    with pytest.raises(Crash):
        await task
    await churn
    await Indexer.polling(es, cfg).drain()
    assert await index_state(es, prefix) == await mongo_state()
    report = await rebuild(es, settings, chunk_size=15)
    assert report.snapshot == len(await mongo_state())
    assert (await verify(es, prefix)).count == 0
