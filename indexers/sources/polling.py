"""Polling source: scan listings by (updated_at, _id), for standalone Mongo and the embedded store.

Writers stamp `updated_at` before their update commits, so a slow writer can commit a listing
whose updated_at is earlier than one already scanned. Each sweep therefore restarts a little
before the newest timestamp seen (the overlap window) and skips versions already emitted;
anything replayed anyway is harmless because index writes are versioned (external_gte).
Soft-deleted and unpublished listings come through as tombstones (delete ops).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from documents import Listing
from documents.values import as_utc
from indexers import checkpoints, store
from indexers.projection import op_for_raw
from indexers.sources import Change
from indexers.store import Position, position_of

MIN_OID = ObjectId(b"\x00" * 12)


async def scan_page(position: Position | None, limit: int) -> list[dict[str, Any]]:
    """The next `limit` listings after `position` in (updated_at, _id) order.

    On the embedded store the documents are lent in place (see indexers.store): the caller
    must only read them, before its next await.
    """
    return await store.scan_after(Listing.get_motor_collection(), position, limit)


async def scan_since(since: datetime | None, page: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every listing (live or not) with updated_at >= since, in (updated_at, _id) order."""
    # (since, MIN_OID) excludes nothing stamped `since`: every real id is > MIN_OID.
    position: Position | None = None if since is None else (since, MIN_OID)
    while True:
        rows = await scan_page(position, page)
        # Taken before yielding: the consumer may await, and an embedded row read in place
        # may be updated meanwhile (then it is simply seen again, newer, on a later page).
        last = position_of(rows[-1]) if rows else None
        for raw in rows:
            yield raw
        if len(rows) < page or last is None:
            return
        position = last


class PollingSource:
    name = "poll"

    def __init__(self, checkpoint: str, *, overlap_s: float, poll_interval_s: float) -> None:
        self.checkpoint = checkpoint
        self.overlap = timedelta(seconds=overlap_s)
        self.poll_interval_s = poll_interval_s
        self._position: Position | None = None  # scan cursor within the current sweep
        self._newest: datetime | None = None  # newest updated_at seen so far
        self._committed: datetime | None = None
        self._committed_id: str | None = None
        # Versions already emitted in this process, to skip re-reads of the overlap window.
        self._emitted: dict[str, tuple[int, datetime]] = {}
        self._caught_up = False
        self.fence: int | None = None  # the lease epoch checkpoints are written under

    async def open(self) -> None:
        # Reopened after a lost lease: what was emitted then may never have been written.
        self._emitted.clear()
        self._committed = self._committed_id = self._newest = None
        cp = await checkpoints.load(self.checkpoint)
        if cp is not None and cp.last_updated_at is not None:
            self._committed = as_utc(cp.last_updated_at)
            self._committed_id = cp.last_id
            self._newest = self._committed
            self._position = (self._committed - self.overlap, MIN_OID)
        else:
            self._position = None

    @property
    def caught_up(self) -> bool:
        return self._caught_up

    async def next_changes(self, limit: int, timeout_s: float) -> list[Change]:
        changes: list[Change] = []
        while len(changes) < limit:
            rows = await scan_page(self._position, limit)
            for raw in rows:
                updated_at = as_utc(raw["updated_at"])
                self._position = (updated_at, raw["_id"])
                if self._newest is None or updated_at > self._newest:
                    self._newest = updated_at
                lid = str(raw["_id"])
                seen = self._emitted.get(lid)
                if seen is not None and seen[0] >= raw.get("version", 0):
                    continue
                op = op_for_raw(raw)
                self._emitted[lid] = (op.version, updated_at)
                changes.append(Change(op, (updated_at, lid), updated_at))
            if len(rows) < limit:
                # End of this sweep: the next one re-reads the overlap window.
                self._caught_up = True
                if self._newest is not None:
                    self._position = (self._newest - self.overlap, MIN_OID)
                    self._forget_before(self._newest - 2 * self.overlap)
                break
            self._caught_up = False
        if not changes and timeout_s > 0:
            await asyncio.sleep(min(self.poll_interval_s, timeout_s))
        return changes

    def _forget_before(self, cutoff: datetime) -> None:
        if len(self._emitted) < 1024:
            return
        self._emitted = {k: v for k, v in self._emitted.items() if v[1] >= cutoff}

    async def commit(self, changes: list[Change]) -> None:
        if not changes:
            return
        ts, lid = max(c.position for c in changes)
        if self._committed is not None and ts < self._committed:
            return
        self._committed, self._committed_id = ts, lid
        await checkpoints.save(
            self.checkpoint,
            last_updated_at=ts,
            last_id=lid,
            source=self.checkpoint,
            fence=self.fence,
        )

    async def close(self) -> None:
        return None
