"""The indexer loop: change source -> batches (by count and time) -> bulk writer -> checkpoint.

At-least-once: a batch is checkpointed only after Elasticsearch acknowledged it, so a crash at
any point replays from the previous checkpoint, and versioned writes make replays harmless.
Cancelling the task (graceful shutdown) flushes what is buffered first.

With a `Lease` (what `marketplace indexer run` uses on a real MongoDB) the loop reads the source
and writes Elasticsearch only while it holds the lease for its alias: it waits for it, checks
it before every fetch, write and checkpoint, and when it is lost drops what it buffered (never
written, never checkpointed), closes the source and goes back to waiting. The embedded,
in-process indexer has no lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import elastic_transport
import pymongo.errors
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from documents.values import utcnow
from indexers import checkpoints, fx, metrics
from indexers.config import IndexerConfig
from indexers.definition import LIVE_SETTINGS, alias_name
from indexers.generation import Generation
from indexers.lease import Lease, LeaseLost
from indexers.sources import Change, ChangeSource
from indexers.sources.changestream import ChangeStreamSource, HistoryLost
from indexers.sources.polling import PollingSource
from indexers.tasks import stop_if_cancelled
from indexers.writer import BulkWriter, WriteFailed, WriteStats

log = logging.getLogger(__name__)

# Failures that pass: the loop backs off and retries the same batch.
RECOVERABLE = (WriteFailed, elastic_transport.TransportError, ApiError, pymongo.errors.PyMongoError)
SHUTDOWN_FLUSH_TIMEOUT_S = 10.0
# Search cache: at most one forced refresh (and generation bump) per this many seconds.
BUMP_INTERVAL_S = 0.25


async def choose_source(settings: Any, db: Any) -> str:
    """Change streams on a replica set or mongos; polling on standalone and embedded Mongo."""
    cfg = IndexerConfig.of(settings)
    if cfg.source != "auto":
        return cfg.source
    if cfg.embedded_mongo:
        return "polling"
    try:
        hello = await db.client.admin.command("hello")
    except pymongo.errors.PyMongoError:
        log.warning("could not ask MongoDB for its topology; polling")
        return "polling"
    if hello.get("setName") or hello.get("msg") == "isdbgrid":
        return "changestream"
    return "polling"


def make_source(kind: str, settings: Any) -> ChangeSource:
    cfg = IndexerConfig.of(settings)
    alias = alias_name(cfg.prefix)
    if kind == "changestream":
        return ChangeStreamSource(
            checkpoints.checkpoint_name(alias, "changestream"), url=cfg.mongodb_url
        )
    if kind == "polling":
        return PollingSource(
            checkpoints.checkpoint_name(alias, "poll"),
            overlap_s=cfg.poll_overlap_s,
            poll_interval_s=cfg.poll_interval_s,
        )
    raise ValueError(f"unknown indexer source {kind!r}")


class Indexer:
    def __init__(
        self,
        es: AsyncElasticsearch,
        settings: Any,
        source: ChangeSource,
        *,
        writer: BulkWriter | None = None,
        on_history_lost: Callable[[], Awaitable[Any]] | None = None,
        lease: Lease | None = None,
        generation: Generation | None = None,
    ) -> None:
        self.es = es
        self.cfg = cfg = IndexerConfig.of(settings)
        self.source = source
        self.writer = writer or BulkWriter(
            es,
            alias_name(cfg.prefix),
            prefix=cfg.prefix,
            chunk_size=cfg.batch_size,
            max_retries=cfg.max_retries,
            concurrency=cfg.bulk_concurrency,
        )
        self.on_history_lost = on_history_lost
        self.lease = lease
        # With the API's search cache on: bumped once each change is searchable.
        self.generation = generation if generation is not None else Generation.of(settings)
        self.stats = WriteStats()
        self._buffer: list[Change] = []
        # Batches handed to the writer and not yet checkpointed, oldest first; at most
        # cfg.bulk_concurrency of them (the loop fetches and projects the next one meanwhile).
        # Why parallel bulks are safe: every write carries the listing's version with
        # external_gte, so Elasticsearch orders the writes of each document whatever order the
        # requests land in (an older version arriving last is refused, counted stale). Why no
        # change is skipped: a checkpoint (resume token, poll position) covers every change
        # before it, so `_settle` saves it only for the oldest batch, once that batch and every
        # earlier one completed; a crash replays from there, and versions make the replay
        # harmless.
        self._in_flight: deque[tuple[list[Change], asyncio.Task[WriteStats]]] = deque()
        self._first_at: float | None = None
        self._opened = False
        self._fx_due = 0.0  # monotonic time of the next look for a newer fx table
        # Whether the index may hold figures of another table: at start (the index may predate
        # the newest table) and after a new version, until a re-projection has succeeded.
        self._fx_pending = True
        self._dirty = False  # a change written since the last bump's refresh
        self._bumper: asyncio.Task[None] | None = None
        # Whether the live index refreshes at the catch-up pace (see _pace); None: not known.
        self._slowed: bool | None = False

    @classmethod
    def polling(cls, es: AsyncElasticsearch, settings: Any, **kw: Any) -> Indexer:
        return cls(es, settings, make_source("polling", settings), **kw)

    async def open(self) -> None:
        if not self._opened:
            self._check_lease()
            await self.source.open()
            # A holder that died mid catch-up may have left its pace on the index: unknown
            # until this one slows it itself or restores it once caught up (no request here,
            # so a start costs what it did).
            self._slowed = None
            self._opened = True

    def _check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def in_flight(self) -> int:
        """Changes whose bulk request was sent and that are not checkpointed yet."""
        return sum(len(batch) for batch, _ in self._in_flight)

    async def flush(self) -> int:
        """Write what is buffered and what is in flight, then checkpoint it all. Returns the
        number of changes flushed. On return nothing is buffered or in flight."""
        n = await self._submit()
        await self._settle(0)
        return n

    async def _submit(self) -> int:
        """Send the buffer to the writer as a background task; returns how many changes."""
        if not self._buffer:
            return 0
        batch = list(self._buffer)
        ops = [c.op for c in batch if c.op is not None]
        # No forced refresh: the index refreshes every 250 ms, and a refresh per batch costs
        # far more than it saves once Elasticsearch is busy (measured by bench/indexer). With
        # the search cache, the generation is bumped beside the loop (`_searchable_then_bump`)
        # rather than by waiting here for the refresh: a wait per batch held every batch back.
        self._check_lease()
        self._in_flight.append((batch, asyncio.create_task(self.writer.write(ops))))
        self._buffer.clear()
        self._first_at = None
        return len(batch)

    async def _settle(self, keep: int) -> None:
        """Checkpoint finished batches, oldest first, until at most `keep` are in flight
        (waiting for the oldest when more are).

        Only the oldest batch is ever checkpointed: a resume token or poll position covers
        every change before it, so it may be saved only once every earlier batch's bulk has
        completed. A later batch that finishes first waits its turn. When a write fails, no
        later batch is checkpointed either: every batch still in flight goes back to the
        front of the buffer, in order, and is written again (versioned, so harmless)."""
        while self._in_flight and (len(self._in_flight) > keep or self._in_flight[0][1].done()):
            batch, task = self._in_flight[0]
            try:
                # Shielded: cancelling the loop (shutdown) must not cancel the write; the
                # batch stays in flight and the shutdown flush waits for it.
                stats = await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.done():
                    raise  # the loop itself was cancelled
                self._requeue()
                raise WriteFailed("bulk write cancelled") from None
            except Exception:
                self._requeue()
                raise
            if stats.indexed or stats.deleted:
                self._changed()
            # Lost while writing: the documents are in (versioned, so harmless), but the
            # position is not ours to move any more; the next holder replays from its
            # checkpoint.
            self._check_lease()
            await self.source.commit(batch)
            self._in_flight.popleft()
            await self._pace(self._record(batch, stats))

    def _requeue(self) -> None:
        """After a failed write: un-send every batch in flight (their writes may or may not
        have landed) ahead of what is buffered; the loop retries them as one batch."""
        changes: list[Change] = []
        for batch, task in self._in_flight:
            changes.extend(batch)
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: no "never retrieved" warning
        self._in_flight.clear()
        self._buffer[:0] = changes
        if self._buffer and self._first_at is None:
            self._first_at = time.monotonic()

    async def _drop_in_flight(self) -> None:
        """Lease lost or history lost: what is in flight is never checkpointed; stop it."""
        tasks = [task for _, task in self._in_flight]
        self._in_flight.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _record(self, batch: list[Change], stats: WriteStats) -> float | None:
        """Count the batch; returns its lag (seconds since its newest change), if known."""
        self.stats.add(stats)
        metrics.BATCH_SIZE.labels(self.source.name).observe(len(batch))
        observed = [c.observed_at for c in batch if c.observed_at is not None]
        if not observed:
            return None
        lag = max(0.0, (utcnow() - max(observed)).total_seconds())
        metrics.LAG_SECONDS.labels(self.source.name).set(lag)
        return lag

    async def _pace(self, lag: float | None) -> None:
        """Far behind: the live index refreshes every catchup_refresh_s instead of 250 ms.

        Measured on a catch-up of 10,000 changes, the live index's refreshes were most of
        Elasticsearch's CPU (a refresh interval of -1 halved it), and that CPU is part of what
        the catch-up waits for (this pace: +8 % changes/s, docs/performance.md). Visibility
        costs at most catchup_refresh_s more for changes already catchup_lag_s old. Restored
        once the source is caught up (the run loop's idle turn, `drain`) and at shutdown; a
        holder that died slowed is restored by the next one once that is caught up."""
        cfg = self.cfg
        if self._slowed is True or not cfg.catchup_refresh_s:
            return
        if lag is None or lag < cfg.catchup_lag_s:
            return
        # Whole milliseconds: Elasticsearch refuses fractional time values.
        if await self._set_refresh(f"{round(cfg.catchup_refresh_s * 1000)}ms"):
            self._slowed = True
            pace = cfg.catchup_refresh_s
            log.info("indexer: %.0f s behind; refreshing every %s s until caught up", lag, pace)

    async def _restore_pace(self) -> None:
        """Back to the live refresh interval (if slowed, or not known), and everything
        written made searchable now."""
        if self._slowed is False:
            return
        if await self._set_refresh(LIVE_SETTINGS["refresh_interval"]):
            self._slowed = False
            with contextlib.suppress(Exception):  # the restored interval refreshes soon anyway
                await self.es.indices.refresh(index=self.writer.index)

    async def _set_refresh(self, interval: str) -> bool:
        """Set the live index's refresh interval; a failure is logged, never fatal (a pace is
        a cost, not a correctness matter: every write is durable once acknowledged)."""
        try:
            await self.es.indices.put_settings(
                index=self.writer.index, settings={"refresh_interval": interval}
            )
        except NotFoundError:
            return True  # no index yet: nothing is slowed
        except Exception as exc:
            metrics.ERRORS.labels("pace").inc()
            log.warning("indexer: refresh interval %s not set: %s", interval, exc)
            return False
        return True

    def _changed(self) -> None:
        """A write changed documents: bump once they are searchable, off the write path."""
        if self.generation is None:
            return
        self._dirty = True
        if self._bumper is None or self._bumper.done():
            self._bumper = asyncio.create_task(self._searchable_then_bump())

    async def _searchable_then_bump(self) -> None:
        """Refresh, then bump, while writes keep coming: one refresh covers every write acked
        before it, so a page cached after the bump cannot predate them. The pause coalesces a
        catch-up's batches into a refresh per BUMP_INTERVAL_S (the index's own pace)."""
        while self._dirty:
            self._dirty = False
            try:
                await self.es.indices.refresh(index=self.writer.index)
            except Exception as exc:  # the periodic refresh still comes; the TTL bounds the rest
                metrics.ERRORS.labels("generation").inc()
                log.warning("indexer: refresh before the generation bump failed: %s", exc)
            await self._bump()
            # At the catch-up pace, as often as the index itself refreshes.
            slowed = self._slowed is True
            await asyncio.sleep(self.cfg.catchup_refresh_s if slowed else BUMP_INTERVAL_S)

    async def settled(self) -> None:
        """Until the last change's generation bump is done (tests, one-shot runs)."""
        if self._bumper is not None:
            await self._bumper

    async def _bump(self) -> None:
        if self.generation is None:
            return
        try:
            await self.generation.bump()
        except Exception as exc:  # the cache's TTL still bounds how stale a page can be
            metrics.ERRORS.labels("generation").inc()
            log.warning("indexer: search generation not bumped: %s", exc)

    async def _fetch(self, timeout_s: float) -> int:
        room = self.cfg.batch_size - len(self._buffer)
        if room <= 0:
            return 0
        self._check_lease()
        began = time.monotonic()
        changes = await self.source.next_changes(room, timeout_s)
        if changes and self._first_at is None:
            # When the batch window opened, not when the fetch returned: a trickle keeps the
            # fetch busy for its whole timeout, and stamping its end doubled the window.
            self._first_at = began
        self._buffer.extend(changes)
        return len(changes)

    async def follow_fx(self) -> int:
        """At most every fx.POLL_INTERVAL_S: load the newest exchange-rate table, and when the
        index holds figures of another version, flush what is buffered (projected with the
        old table, so it must land first) and re-project every searchable listing. Returns
        how many it re-wrote."""
        now = time.monotonic()
        if now < self._fx_due:
            return 0
        self._fx_due = now + fx.POLL_INTERVAL_S
        if await fx.refresh():
            self._fx_pending = True
        if not self._fx_pending:
            return 0
        if await fx.stale_count(self.es, self.writer.index) == 0:
            self._fx_pending = False
            return 0
        self._check_lease()
        # Waits for the batches in flight too: every write projected with the old table has
        # landed before the re-projection starts, so none can overwrite its new figures.
        await self.flush()
        self._check_lease()
        stats = await fx.reproject(self.writer, self.cfg.batch_size)
        if stats.indexed and self.generation is not None:
            # Cached search pages hold the old figures: make the new ones searchable now (one
            # refresh per rate change, a rare event) and then drop those pages.
            await self.es.indices.refresh(index=self.writer.index)
            await self._bump()
        self.stats.add(stats)
        self._fx_pending = False
        return stats.indexed

    async def sync_once(self) -> int:
        """One fetch (no waiting) and flush; returns how many changes it handled."""
        await self.open()
        await self.follow_fx()
        n = await self._fetch(0)
        await self.flush()
        return n

    async def drain(self) -> int:
        """Until the source has nothing new: what tests and one-shot runs call."""
        total = 0
        while True:
            n = await self.sync_once()
            total += n
            if n == 0 and self.source.caught_up:
                await self._restore_pace()
                await self.settled()
                return total

    def _flush_due(self) -> bool:
        if not self._buffer:
            return False
        if len(self._buffer) >= self.cfg.batch_size or self.source.caught_up:
            return True
        assert self._first_at is not None
        return time.monotonic() - self._first_at >= self.cfg.flush_interval_s

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Forever (or until `stop` is set): the background task / `marketplace indexer run`.

        With a lease: wait for it, follow the source while it holds, and after losing it
        wait again; on the way out it is released so a standby need not wait out the TTL."""
        if self.lease is None:
            await self._run_active(stop)
            return
        try:
            while stop is None or not stop.is_set():
                if not await self.lease.acquire(stop):
                    return
                self._fence(self.lease.epoch)
                try:
                    await self._run_active(stop)
                    return
                except (LeaseLost, checkpoints.Fenced) as exc:
                    metrics.ERRORS.labels("lease_lost").inc()
                    dropped = self.buffered + self.in_flight
                    log.warning("indexer: lease lost (%s); dropped %d buffered", exc, dropped)
                    await self._drop_in_flight()
                    self._forget()
        finally:
            await self.lease.release()

    def _fence(self, epoch: int | None) -> None:
        if hasattr(self.source, "fence"):
            self.source.fence = epoch

    def _forget(self) -> None:
        """After a lost lease: nothing buffered was written or checkpointed; let it go."""
        self._buffer.clear()
        self._first_at = None
        self._opened = False

    async def _run_active(self, stop: asyncio.Event | None) -> None:
        backoff = 0.2
        try:
            while stop is None or not stop.is_set():
                stop_if_cancelled()  # a cancel swallowed on the way (indexers.tasks): flush, stop
                try:
                    await self.open()
                    await self.follow_fx()
                    wait = self.cfg.flush_interval_s
                    if self._first_at is not None:
                        wait = max(0.0, self._first_at + wait - time.monotonic())
                    await self._fetch(wait)
                    # Checkpoint what has finished (in order) without waiting.
                    await self._settle(self.cfg.bulk_concurrency)
                    if self._flush_due():
                        # Bounded: wait for a free slot, so at most bulk_concurrency batches
                        # (each at most batch_size changes) are in flight; then fetch and
                        # project the next batch while they are written.
                        await self._settle(self.cfg.bulk_concurrency - 1)
                        await self._submit()
                    elif not self._buffer and not self._in_flight:
                        # Only with nothing in flight: the idle save stores the stream's
                        # newest token, which would cover changes whose bulk is still out.
                        await self.source.commit([])
                        if self.source.caught_up:
                            metrics.LAG_SECONDS.labels(self.source.name).set(0)
                            await self._restore_pace()
                    elif not self._buffer:
                        await self._settle(0)
                    backoff = 0.2
                except HistoryLost as exc:
                    await self._recover_history(exc)
                except RECOVERABLE as exc:
                    metrics.ERRORS.labels("transport" if _is_es(exc) else "source").inc()
                    name = type(exc).__name__
                    log.warning("indexer: %s: %s; retrying in %.1fs", name, exc, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
            await self.flush()
            await self._restore_pace()
            await asyncio.wait_for(self.settled(), SHUTDOWN_FLUSH_TIMEOUT_S)
        except asyncio.CancelledError:
            # A bulk in flight may be stuck (ES hanging): abandon it and write its batch
            # again with what is buffered, under the shutdown timeout.
            self._requeue()
            if self._buffer and (self.lease is None or self.lease.held):
                try:
                    await asyncio.wait_for(self.flush(), SHUTDOWN_FLUSH_TIMEOUT_S)
                except Exception as exc:  # shutting down: replayed from the checkpoint next time
                    log.warning("indexer: flush on shutdown failed: %s", exc)
            raise
        finally:
            if self._bumper is not None and not self._bumper.done():
                self._bumper.cancel()  # killed or cancelled: the cache's TTL covers the rest
            if self._in_flight:  # left by an error on the way out: never checkpointed
                await self._drop_in_flight()
            self._opened = False
            await self.source.close()

    async def _recover_history(self, exc: HistoryLost) -> None:
        log.error("indexer: change stream history lost (%s); rebuilding the index", exc)
        metrics.ERRORS.labels("history_lost").inc()
        self._check_lease()  # only the holder may rebuild and swap the alias
        await self._drop_in_flight()  # the rebuild covers them; their positions are moot
        self._buffer.clear()
        self._first_at = None
        restart = getattr(self.source, "restart_from_now", None)
        if restart is not None:
            await restart()  # the new stream covers every change after this point
        if self.on_history_lost is not None:
            await self.on_history_lost()
            await self._bump()  # a rebuilt index behind the alias: every cached page is old


def _is_es(exc: BaseException) -> bool:
    return isinstance(exc, WriteFailed | elastic_transport.TransportError | ApiError)


def make_lease(settings: Any, *, holder: str | None = None) -> Lease:
    """The lease of this settings' alias (one active writer per alias, whatever its source)."""
    cfg = IndexerConfig.of(settings)
    return Lease(alias_name(cfg.prefix), ttl_s=cfg.lease_ttl_s, holder=holder)


async def build_indexer(
    es: AsyncElasticsearch,
    settings: Any,
    db: Any,
    source: str | None = None,
    *,
    lease: Lease | None = None,
) -> Indexer:
    """The indexer `marketplace indexer run` uses; rebuilds on history loss. With `lease` it
    writes only while holding it."""
    from indexers.rebuild import rebuild

    kind = source or await choose_source(settings, db)
    log.info("indexer source: %s", kind)

    async def _rebuild() -> None:
        await rebuild(es, settings)

    return Indexer(es, settings, make_source(kind, settings), on_history_lost=_rebuild, lease=lease)
