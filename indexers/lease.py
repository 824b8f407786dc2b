"""One active indexer per index alias: a TTL lease in Mongo, renewed by a heartbeat.

The idea is monstache's (`enableProcess`, `ensureClusterTTL`, `nextHeartbeat`): every
`marketplace indexer run` asks for the lease; the one that gets it reads the change stream and
writes Elasticsearch, the others wait and take over once it expires.

- **Acquire** is one atomic `findOneAndUpdate` with upsert on the lease document (`_id` = the
  alias), filtered on "expired, or already ours". When the lease is held by someone else the
  filter matches nothing, the upsert tries to insert a second document with the same `_id`,
  and the server refuses it (duplicate key): of any number of concurrent acquirers exactly one
  wins, on a real MongoDB as on the wire server, without relying on any secondary index.
  Every acquisition increments `epoch`, the fencing token.
- **Renew** (the heartbeat, every TTL/3) is an update filtered on holder *and* epoch; matching
  nothing means someone else took over. Any failed renewal (an error, or no match) ends the
  tenure at once: the runner stops writing and goes back to waiting.
- **Local validity** is checked before every read, write and checkpoint: the tenure is trusted
  only until the start of the last successful renewal plus TTL minus a margin (TTL/3), on the
  monotonic clock. A process that was paused (GC, SIGSTOP, a slow VM) longer than that wakes
  up knowing it may have lost the lease, before it writes anything.
- Expiry is compared on the acquirer's wall clock (`expires_at` is a stored date), so hosts
  need clocks agreeing to well within the margin (NTP gives milliseconds; the margin is 5 s at
  the default TTL of 15 s).

Holder identity is `host:pid:random`, so a restarted process on the same host and pid is a new
holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pymongo
from pymongo.errors import DuplicateKeyError, PyMongoError

from documents import IndexerLease
from documents.values import as_utc, utcnow
from indexers.tasks import cancel_and_wait, stop_if_cancelled

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 15.0


class LeaseLost(Exception):
    """The tenure ended (renewal failed, someone else holds the lease, or it ran out locally)."""


def make_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LeaseState:
    name: str
    holder: str
    epoch: int
    acquired_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, raw: dict[str, Any]) -> LeaseState:
        return cls(
            name=str(raw["_id"]),
            holder=str(raw["holder"]),
            epoch=int(raw.get("epoch", 0)),
            acquired_at=as_utc(raw.get("acquired_at") or raw["expires_at"]),
            expires_at=as_utc(raw["expires_at"]),
        )

    def as_status(self) -> dict[str, Any]:
        left = (self.expires_at - utcnow()).total_seconds()
        return {
            "name": self.name,
            "holder": self.holder,
            "epoch": self.epoch,
            "acquired_at": self.acquired_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "expires_in_s": round(left, 1),
            "expired": left <= 0,
        }


def _coll() -> Any:
    return IndexerLease.get_motor_collection()


# -- the document operations ---------------------------------------------------------------------


async def try_acquire(name: str, holder: str, ttl_s: float) -> LeaseState | None:
    """Take the lease if it is free, expired or already ours (one atomic upsert); None if
    someone else holds it."""
    now = utcnow()
    try:
        raw = await _coll().find_one_and_update(
            {"_id": name, "$or": [{"expires_at": {"$lte": now}}, {"holder": holder}]},
            {
                "$set": {
                    "holder": holder,
                    "acquired_at": now,
                    "renewed_at": now,
                    "expires_at": now + timedelta(seconds=ttl_s),
                },
                "$inc": {"epoch": 1},
            },
            upsert=True,
            return_document=pymongo.ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return None  # held by someone else: our upsert tried to insert a second one
    return None if raw is None else LeaseState.of(raw)


async def renew(name: str, holder: str, epoch: int, ttl_s: float) -> bool:
    """Push the expiry out; False when the lease is no longer ours (taken over since)."""
    now = utcnow()
    result = await _coll().update_one(
        {"_id": name, "holder": holder, "epoch": epoch},
        {"$set": {"renewed_at": now, "expires_at": now + timedelta(seconds=ttl_s)}},
    )
    return bool(result.matched_count)


async def release(name: str, holder: str, epoch: int) -> bool:
    """Expire our lease now (graceful stop), so a waiting indexer takes over without waiting
    out the TTL. The document and its epoch stay."""
    result = await _coll().update_one(
        {"_id": name, "holder": holder, "epoch": epoch}, {"$set": {"expires_at": utcnow()}}
    )
    return bool(result.matched_count)


async def current(name: str) -> LeaseState | None:
    raw = await _coll().find_one({"_id": name})
    return None if raw is None else LeaseState.of(raw)


# -- a tenure, as the runner uses it -------------------------------------------------------------


class Lease:
    """This process's claim on one alias: wait for it, keep it alive, know when it is gone."""

    def __init__(
        self,
        name: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        holder: str | None = None,
        renew_every_s: float | None = None,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("lease TTL must be positive")
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder or make_holder_id()
        self.renew_every_s = renew_every_s or ttl_s / 3
        self.margin_s = ttl_s / 3
        self.epoch: int | None = None
        self._valid_until = 0.0  # monotonic
        self._heartbeat: asyncio.Task[None] | None = None
        self.lost_reason: str | None = None

    @property
    def held(self) -> bool:
        return self.epoch is not None and time.monotonic() < self._valid_until

    def check(self) -> None:
        """Raise LeaseLost unless the tenure still holds (call before every write)."""
        if self.epoch is None:
            raise LeaseLost(self.lost_reason or "lease not held")
        if time.monotonic() >= self._valid_until:
            self._end("lease ran out locally (a pause longer than the renewal margin?)")
            raise LeaseLost(self.lost_reason)

    def _trust_until(self, sent_at: float) -> None:
        self._valid_until = sent_at + self.ttl_s - self.margin_s

    def _end(self, reason: str) -> None:
        if self.epoch is not None:
            log.warning("indexer lease %s: %s; stopped writing", self.name, reason)
        self.epoch = None
        self._valid_until = 0.0
        self.lost_reason = reason

    async def try_acquire(self) -> LeaseState | None:
        sent_at = time.monotonic()
        attempt = asyncio.ensure_future(try_acquire(self.name, self.holder, self.ttl_s))
        try:
            state = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # Stopped mid-acquisition: the write may win anyway, and nobody here would know to
            # release it, so a standby would wait out the whole TTL. Give back what it won.
            with contextlib.suppress(Exception):
                won = await attempt
                if won is not None:
                    await release(self.name, self.holder, won.epoch)
            raise
        if state is not None:
            self.epoch = state.epoch
            self.lost_reason = None
            self._trust_until(sent_at)
            self._start_heartbeat()
            log.info(
                "indexer lease %s acquired by %s (epoch %d, ttl %.1fs)",
                self.name,
                self.holder,
                state.epoch,
                self.ttl_s,
            )
        return state

    async def acquire(self, stop: asyncio.Event | None = None) -> bool:
        """Wait until the lease is ours (True) or `stop` is set (False); logs who holds it."""
        seen: tuple[str, int] | None = None
        while stop is None or not stop.is_set():
            stop_if_cancelled()  # a cancel swallowed on the way (indexers.tasks) stops it here
            try:
                if await self.try_acquire() is not None:
                    return True
                other = await current(self.name)
            except PyMongoError as exc:
                log.warning("indexer lease %s: %s; retrying", self.name, exc)
                other = None
            if other is not None and (other.holder, other.epoch) != seen:
                seen = (other.holder, other.epoch)
                log.info(
                    "indexer lease %s held by %s until %s; waiting to take over",
                    self.name,
                    other.holder,
                    other.expires_at.isoformat(),
                )
            wait = self.renew_every_s
            if other is not None:  # wake up just after it expires, if that is sooner
                until = (other.expires_at - utcnow()).total_seconds() + 0.05
                wait = min(wait, max(0.05, until))
            await _sleep(wait, stop)
        return False

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name=f"lease-{self.name}")

    async def _beat(self) -> None:
        while self.epoch is not None:
            stop_if_cancelled()  # `release` awaits this task after cancelling it
            await asyncio.sleep(self.renew_every_s)
            epoch = self.epoch
            if epoch is None:
                return
            sent_at = time.monotonic()
            try:
                ok = await renew(self.name, self.holder, epoch, self.ttl_s)
            except PyMongoError as exc:
                self._end(f"renewal failed ({type(exc).__name__}: {exc})")
                return
            if self.epoch != epoch:  # ended (or re-acquired) meanwhile: judge the new one next
                continue
            if not ok:
                self._end("lease taken over by another indexer")
                return
            self._trust_until(sent_at)

    async def release(self) -> None:
        """Stop the heartbeat and, if we still hold it, expire the lease for the next one."""
        if self._heartbeat is not None:
            # Not awaited bare under suppress(CancelledError): that would swallow a cancel of
            # the caller's along with the heartbeat's own.
            for task in await cancel_and_wait([self._heartbeat], grace_s=self.ttl_s):
                log.warning("indexer lease %s: heartbeat %s did not stop", self.name, task)
            self._heartbeat = None
        epoch, self.epoch = self.epoch, None
        self._valid_until = 0.0
        if epoch is None:
            return
        try:
            if await release(self.name, self.holder, epoch):
                log.info("indexer lease %s released by %s", self.name, self.holder)
        except PyMongoError as exc:  # it expires by itself
            log.warning(
                "indexer lease %s: release failed (%s); it expires on its own", self.name, exc
            )


async def _sleep(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
