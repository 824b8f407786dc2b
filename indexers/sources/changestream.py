"""Change-stream source: MongoDB change streams on listings (replica set or sharded cluster).

`fullDocument=updateLookup` hands us the listing as it is now, so every event is simply
"make the index agree with this state" (versioned, so late lookups are harmless). The resume
token is stored only in `commit`, i.e. after Elasticsearch acknowledged the batch.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import OperationFailure

from documents import Listing
from indexers import checkpoints, store
from indexers.projection import hard_delete_op, op_for_raw
from indexers.sources import Change

log = logging.getLogger(__name__)

# The server's error codes that mean "the stored position is unusable"; only a rebuild makes the
# index whole again. By code, never by message text: a message that merely mentions the resume
# token (a shutdown interrupting a getMore, say) is a transient failure to retry, not a rebuild.
HISTORY_LOST_CODES = {
    286,  # ChangeStreamHistoryLost: the oplog was trimmed past our token
    280,  # ChangeStreamFatalError: the stream cannot continue from the token
    260,  # InvalidResumeToken: a token for another stream or collection
    9,  # FailedToParse: an unreadable token
}
_INVALIDATING = {"invalidate", "drop", "dropDatabase", "rename"}
IDLE_TOKEN_SAVE_S = 10.0


class HistoryLost(Exception):
    """The stream cannot resume from the stored token; the index needs a rebuild."""


def _cluster_time(event: dict[str, Any]) -> datetime | None:
    ts = event.get("clusterTime")
    if ts is None:
        return None
    return datetime.fromtimestamp(ts.time, UTC)


def change_of(event: dict[str, Any]) -> Change:
    """The index op for one change event (op None: nothing to write, only a position)."""
    kind = event.get("operationType")
    token = event["_id"]
    when = _cluster_time(event)
    if kind in _INVALIDATING:
        raise HistoryLost(f"change stream invalidated by {kind}")
    if kind == "delete":
        return Change(hard_delete_op(str(event["documentKey"]["_id"])), token, when)
    full = event.get("fullDocument")
    if full is None:
        # Gone by the time of the lookup: the delete event that follows removes it.
        return Change(None, token, when)
    return Change(op_for_raw(full), token, when)


class ChangeStreamSource:
    name = "changestream"

    def __init__(self, checkpoint: str, *, url: str | None = None, max_await_ms: int = 250) -> None:
        self.checkpoint = checkpoint
        self.url = url  # the MongoDB server's; change streams need one
        self.max_await_ms = max_await_ms
        self._stream: Any = None
        self._pending: list[dict[str, Any]] = []
        self._caught_up = False
        self._last_idle_save = 0.0
        self.fence: int | None = None  # the lease epoch checkpoints are written under

    async def _save(self, token: dict[str, Any]) -> None:
        await checkpoints.save(
            self.checkpoint, resume_token=token, source=self.checkpoint, fence=self.fence
        )

    def _watch(self, resume_after: dict[str, Any] | None) -> store.ChangeFeed:
        if not self.url:
            raise ValueError("change streams need a MongoDB server (MONGODB_URL)")
        return store.ChangeFeed(
            self.url,
            Listing.get_motor_collection(),
            full_document="updateLookup",
            resume_after=resume_after,
            max_await_time_ms=self.max_await_ms,
        )

    async def open(self) -> None:
        await self.close()  # reopened after a lost lease: the old stream's client ends here
        self._pending.clear()  # and it starts from the stored token
        cp = await checkpoints.load(self.checkpoint)
        token = cp.resume_token if cp is not None else None
        self._stream = self._watch(token)
        if token is None:
            # Pin "now" so that a restart before the first batch does not skip anything.
            await self._prime()

    async def _prime(self) -> None:
        event = await self._next_event()
        if event is not None:
            self._pending.append(event)
        elif self._stream.resume_token is not None:
            await self._save(self._stream.resume_token)

    async def restart_from_now(self) -> None:
        """After history loss: a fresh stream from the present (the caller then rebuilds)."""
        await self.close()
        await checkpoints.clear(self.checkpoint, self.fence)
        self._pending.clear()
        self._stream = self._watch(None)
        await self._prime()

    async def _next_event(self) -> dict[str, Any] | None:
        try:
            return await self._stream.try_next()
        except OperationFailure as exc:
            if exc.code in HISTORY_LOST_CODES:
                raise HistoryLost(f"{exc} (code {exc.code})") from exc
            raise

    @property
    def caught_up(self) -> bool:
        return self._caught_up

    async def next_changes(self, limit: int, timeout_s: float) -> list[Change]:
        changes: list[Change] = []
        deadline = time.monotonic() + timeout_s
        while len(changes) < limit:
            event = self._pending.pop(0) if self._pending else await self._next_event()
            if event is None:
                self._caught_up = True
                if changes or time.monotonic() >= deadline:
                    break
                continue
            self._caught_up = False
            changes.append(change_of(event))
            # The deadline holds while events keep coming too: a steady trickle that never
            # leaves the stream idle must not wait for a full batch (that was seconds of lag).
            if time.monotonic() >= deadline:
                break
        return changes

    async def commit(self, changes: list[Change]) -> None:
        if changes:
            await self._save(changes[-1].position)
            self._last_idle_save = time.monotonic()
            return
        # Idle with nothing buffered: keep the stored token fresh so a quiet collection never
        # falls off the oplog (the post-batch token moves even without events).
        now = time.monotonic()
        token = self._stream.resume_token if self._stream is not None else None
        due = now - self._last_idle_save >= IDLE_TOKEN_SAVE_S
        if token is not None and not self._pending and due:
            self._last_idle_save = now
            await self._save(token)

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()
            self._stream = None
