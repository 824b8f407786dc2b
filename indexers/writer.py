"""The bulk writer: external_gte versioned writes via elasticsearch-py's async helpers, retries
with backoff on 429/5xx/transport errors, and dead letters for documents ES rejects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import elastic_transport
from elasticsearch import ApiError, AsyncElasticsearch
from elasticsearch.helpers import async_streaming_bulk

from documents import DeadLetter
from indexers import metrics
from indexers.aliases import ensure_index
from indexers.projection import IndexOp

log = logging.getLogger(__name__)

RETRY_STATUS = (429, 502, 503, 504)
# Transport-level failures that mean "try again later", never "this document is bad".
TRANSIENT = (elastic_transport.TransportError, ApiError)


@dataclass
class WriteStats:
    indexed: int = 0
    deleted: int = 0
    stale: int = 0  # ES already held this version or a newer one
    dead_letters: int = 0
    retries: int = 0

    def add(self, other: WriteStats) -> None:
        for name in ("indexed", "deleted", "stale", "dead_letters", "retries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class WriteFailed(RuntimeError):
    """Elasticsearch kept failing after every retry; nothing was checkpointed."""


def latest_per_listing(ops: Iterable[IndexOp]) -> list[IndexOp]:
    """One op per listing, the newest (a batch may see the same listing several times)."""
    best: dict[str, IndexOp] = {}
    for op in ops:
        cur = best.get(op.listing_id)
        if cur is None or op.version >= cur.version:
            best[op.listing_id] = op
    return list(best.values())


def action(op: IndexOp, index: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_index": index,
        "_id": op.listing_id,
        "version": op.version,
        "version_type": "external_gte",
    }
    if op.doc is None:
        return {"_op_type": "delete", **base}
    return {"_op_type": "index", **base, "_source": op.doc}


class BulkWriter:
    """Writes batches of IndexOps to `index` (normally the alias) until each op has an outcome.

    An op ends as indexed/deleted, stale (a newer version is already there: replays and late
    events are harmless), or dead-lettered (ES refused the document itself). Anything else
    (429, 5xx, connection errors) is retried with exponential backoff; after the last retry
    `WriteFailed` is raised and the caller must not advance its checkpoint.

    One `write` sends its ops as chunks of `chunk_size`, up to `concurrency` bulk requests at
    once. That is safe because `latest_per_listing` leaves one op per listing in a write, so
    two chunks of one write never touch the same document; across writes that overlap (the
    indexer pipelines its flushes) `external_gte` on the listing's version orders them in
    Elasticsearch: an older version arriving last is refused (409, counted stale) instead of
    replacing the newer one. A write returns only when every chunk has its outcome.
    """

    def __init__(
        self,
        es: AsyncElasticsearch,
        index: str,
        *,
        prefix: str | None = None,
        chunk_size: int = 500,
        max_retries: int = 5,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 10.0,
        concurrency: int = 1,
    ) -> None:
        self.es = es
        self.index = index
        # Set when `index` is the alias: writes then require it (no auto-created index with a
        # dynamic mapping), and a missing alias is re-created before retrying.
        self.prefix = prefix
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.concurrency = max(1, concurrency)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.initial_backoff_s * (2**attempt))

    async def write(
        self, ops: Sequence[IndexOp], *, refresh: bool | Literal["wait_for"] = False
    ) -> WriteStats:
        """`refresh`: make the batch searchable now instead of at the next refresh interval
        (repairs use it, so that a verify right after sees the result); "wait_for": return
        once the next periodic refresh made it searchable (no refresh forced)."""
        stats = WriteStats()
        pending = {op.listing_id: op for op in latest_per_listing(ops)}
        attempt = 0
        while pending:
            retry, missing_alias = await self._attempt(pending, stats, refresh)
            if missing_alias and self.prefix is not None:
                await ensure_index(self.es, self.prefix)
            if not retry:
                break
            if attempt >= self.max_retries:
                metrics.ERRORS.labels("transport").inc()
                raise WriteFailed(f"{len(retry)} operations still failing after {attempt} retries")
            stats.retries += 1
            await asyncio.sleep(self._backoff(attempt))
            attempt += 1
            pending = retry
        if ops:
            metrics.BATCH_SIZE.labels("writer").observe(len(ops))
        return stats

    def _actions(self, ops: Iterable[IndexOp]) -> Iterator[dict[str, Any]]:
        for op in ops:
            yield action(op, self.index)

    async def _attempt(
        self,
        pending: dict[str, IndexOp],
        stats: WriteStats,
        refresh: bool | Literal["wait_for"] = False,
    ) -> tuple[dict[str, IndexOp], bool]:
        """One pass over `pending`, `concurrency` chunks at a time; returns the ops to retry
        and whether the alias was missing."""
        ops = list(pending.values())
        chunks = [ops[i : i + self.chunk_size] for i in range(0, len(ops), self.chunk_size)]
        if len(chunks) <= 1 or self.concurrency == 1:
            return await self._attempt_chunk(ops, stats, refresh)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(chunk: list[IndexOp]) -> tuple[dict[str, IndexOp], bool]:
            async with gate:
                return await self._attempt_chunk(chunk, stats, refresh)

        retry: dict[str, IndexOp] = {}
        missing_alias = False
        # _attempt_chunk turns transport failures into retries, so one failing chunk never
        # cancels its siblings: each op still ends with an outcome or in `retry`.
        for chunk_retry, chunk_missing in await asyncio.gather(*(one(c) for c in chunks)):
            retry.update(chunk_retry)
            missing_alias = missing_alias or chunk_missing
        return retry, missing_alias

    async def _attempt_chunk(
        self, ops: list[IndexOp], stats: WriteStats, refresh: bool
    ) -> tuple[dict[str, IndexOp], bool]:
        unresolved = {op.listing_id: op for op in ops}
        retry: dict[str, IndexOp] = {}
        missing_alias = False
        kwargs: dict[str, Any] = {"require_alias": True} if self.prefix is not None else {}
        if refresh:
            kwargs["refresh"] = "true" if refresh is True else refresh
        try:
            async for ok, result in async_streaming_bulk(
                self.es,
                self._actions(ops),
                chunk_size=self.chunk_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff_s,
                max_backoff=self.max_backoff_s,
                retry_on_status=RETRY_STATUS,
                yield_ok=True,
                **kwargs,
            ):
                op_type, item = next(iter(result.items()))
                op = unresolved.pop(str(item.get("_id")), None)
                if op is None:
                    continue
                status = int(item.get("status", 500))
                error = item.get("error") or {}
                error_type = error.get("type") if isinstance(error, dict) else None
                if ok:
                    outcome = "deleted" if op_type == "delete" else "indexed"
                elif status == 409:
                    outcome = "stale"
                elif status == 404 and op_type == "delete" and not error:
                    outcome = "deleted"  # already absent; the versioned tombstone is recorded
                elif error_type == "index_not_found_exception":
                    missing_alias = True
                    retry[op.listing_id] = op
                    continue
                elif status in RETRY_STATUS or status >= 500:
                    retry[op.listing_id] = op
                    continue
                else:
                    await self._dead_letter(op, item)
                    outcome = "dead_letter"
                setattr(stats, _STAT[outcome], getattr(stats, _STAT[outcome]) + 1)
                metrics.OPS.labels(outcome).inc()
        except TRANSIENT as exc:
            log.warning("bulk write failed (%s); will retry", type(exc).__name__)
            metrics.ERRORS.labels("transport").inc()
        retry.update(unresolved)  # never answered: the request itself failed
        return retry, missing_alias

    async def _dead_letter(self, op: IndexOp, item: dict[str, Any]) -> None:
        log.error("elasticsearch rejected listing %s v%s: %s", op.listing_id, op.version, item)
        metrics.ERRORS.labels("rejected").inc()
        await DeadLetter(
            listing_id=op.listing_id,
            version=op.version,
            index=str(item.get("_index") or self.index),
            error={"status": item.get("status"), "error": item.get("error")},
        ).insert()


_STAT = {
    "indexed": "indexed",
    "deleted": "deleted",
    "stale": "stale",
    "dead_letter": "dead_letters",
}
