"""One active indexer per alias: the lease in Mongo, on the wire server (or MONGODB_URL).

The race and takeover rules run against the server, because what makes the acquisition safe
is the server refusing a second document with the same `_id`; mongomock proves nothing there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents import IndexerCheckpoint
from documents.values import utcnow
from indexers import checkpoints, lease, store
from indexers.definition import alias_name
from indexers.lease import Lease, LeaseLost
from indexers.runner import build_indexer
from service.core.config import Settings
from service.listings.store import apply_write
from service.localnode.children import spawn
from tests.conftest import _drop_test_indices, secret_env
from tests.indexers.helpers import insert, make_listing, oid, until_in_sync

pytestmark = pytest.mark.realmongo

MARKETPLACE = Path(sys.executable).parent / "marketplace"


async def test_concurrent_acquirers_exactly_one_wins(real_app: FastAPI) -> None:
    """Many acquirers at once, on a fresh lease and on an expired one: one winner each time."""
    for round_ in range(5):
        name = f"race-{round_}"
        holders = [f"h{i}" for i in range(12)]
        got = await asyncio.gather(*(lease.try_acquire(name, h, 30) for h in holders))
        winners = [s for s in got if s is not None]
        assert len(winners) == 1, winners
        stored = await lease.current(name)
        assert stored is not None and stored.holder == winners[0].holder
        assert stored.epoch == 1
        # Expire it, then race again: still exactly one, and the epoch moves on by one.
        await lease.release(name, stored.holder, stored.epoch)
        got = await asyncio.gather(*(lease.try_acquire(name, h, 30) for h in holders))
        winners = [s for s in got if s is not None]
        assert len(winners) == 1, winners
        again = await lease.current(name)
        assert again is not None and again.holder == winners[0].holder and again.epoch == 2


async def test_a_lost_lease_cannot_renew_or_move_the_checkpoint(real_app: FastAPI) -> None:
    first = await lease.try_acquire("alias", "one", 0.3)
    assert first is not None
    assert await lease.try_acquire("alias", "two", 0.3) is None  # held, not expired
    assert await lease.renew("alias", "one", first.epoch, 0.3)
    await asyncio.sleep(0.4)
    second = await lease.try_acquire("alias", "two", 30)  # expired: taken over
    assert second is not None and second.epoch == first.epoch + 1
    assert not await lease.renew("alias", "one", first.epoch, 0.3)
    assert not await lease.release("alias", "one", first.epoch)

    name = "alias:changestream"
    await checkpoints.save(name, resume_token={"_data": "old"}, fence=first.epoch)
    await checkpoints.save(name, resume_token={"_data": "new"}, fence=second.epoch)
    with pytest.raises(checkpoints.Fenced):
        await checkpoints.save(name, resume_token={"_data": "stale"}, fence=first.epoch)
    await checkpoints.clear(name, fence=first.epoch)  # fenced too: a no-op
    cp = await checkpoints.load(name)
    assert cp is not None and cp.resume_token == {"_data": "new"} and cp.fence == second.epoch
    assert await IndexerCheckpoint.get_motor_collection().count_documents({"name": name}) == 1


async def test_the_heartbeat_notices_a_takeover(real_app: FastAPI) -> None:
    mine = Lease("alias", ttl_s=0.6, holder="one")
    assert await mine.try_acquire() is not None
    assert mine.held
    # Someone "takes over" (as if our lease had expired during a pause).
    await lease._coll().update_one(
        {"_id": "alias"}, {"$set": {"holder": "two"}, "$inc": {"epoch": 1}}
    )
    await asyncio.sleep(0.5)  # one renewal period (0.2 s) and then some
    assert not mine.held
    with pytest.raises(LeaseLost):
        mine.check()
    await mine.release()
    held = await lease.current("alias")
    assert held is not None and held.holder == "two"  # a lost lease is not released


async def test_a_paused_holder_stops_trusting_its_lease_before_it_expires(
    real_app: FastAPI,
) -> None:
    """No renewal for TTL minus the margin (a GC pause, SIGSTOP): the tenure ends locally,
    before anyone else could have taken the lease, so nothing is written on a stale lease."""
    mine = Lease("paused", ttl_s=0.9, holder="one")
    assert await mine.try_acquire() is not None
    assert mine._heartbeat is not None
    mine._heartbeat.cancel()  # the process stops renewing
    await asyncio.sleep(0.7)  # past TTL - TTL/3 = 0.6 s, before the 0.9 s expiry
    held = await lease.current("paused")
    assert held is not None and not _expired(held)  # nobody could have taken it yet...
    with pytest.raises(LeaseLost, match="ran out locally"):
        mine.check()  # ...and we already stopped
    await mine.release()


async def _wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_second_indexer_waits_while_the_first_runs_then_takes_over(
    real_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    settings: Settings = real_app.state.settings
    settings = settings.model_copy(update={"indexer_lease_ttl_s": 1.5})
    prefix = settings.elasticsearch_index_prefix
    name = alias_name(prefix)
    db = real_app.state.mongo_db
    caplog.set_level(logging.INFO, logger="indexers.lease")
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        first = await build_indexer(es, settings, db, lease=Lease(name, ttl_s=1.5, holder="one"))
        task1 = asyncio.create_task(first.run())
        await _wait_for(lambda: _holder_is(name, "one"), 10, "the first to take the lease")
        second = await build_indexer(es, settings, db, lease=Lease(name, ttl_s=1.5, holder="two"))
        task2 = asyncio.create_task(second.run())
        ls = await insert(*(make_listing(title=f"lease {i}") for i in range(15)))
        await until_in_sync(es, prefix)
        await asyncio.sleep(2)  # longer than the TTL: the first keeps renewing
        assert await _holder_is(name, "one")
        assert first.stats.indexed >= 15 and second.stats.indexed == 0
        assert second.lease is not None and not second.lease.held
        assert any("held by one until" in r.getMessage() for r in caplog.records)

        # Someone else takes the lease from under the first (as after a pause it did not
        # notice): its next renewal finds it gone, and it stops writing at once.
        assert first.lease is not None
        await lease._coll().update_one(
            {"_id": name},
            {"$set": {"holder": "intruder", "expires_at": utcnow() + timedelta(seconds=3)}},
        )
        await _wait_for(lambda: _not_held(first.lease), 5, "the first to notice")
        before = first.stats.indexed
        await apply_write(oid(ls[0]), {"$set": {"price.amount": 4242}})
        await insert(*(make_listing(title=f"after {i}") for i in range(5)))
        await asyncio.sleep(1)
        assert first.stats.indexed == before and second.stats.indexed == 0
        # The intruder's lease runs out: one of the two takes over and catches up, fenced
        # with a new epoch.
        await until_in_sync(es, prefix)
        held = await lease.current(name)
        assert held is not None and held.holder in ("one", "two") and held.epoch >= 2
        # Its checkpoint follows once every batch it had in flight completed (in order): a
        # moment after the documents are searchable, never before they are acknowledged.
        epoch = held.epoch

        async def fenced_by_new_epoch() -> bool:
            cp = await checkpoints.load(f"{name}:changestream")
            return cp is not None and cp.fence == epoch

        await _wait_for(fenced_by_new_epoch, 5, "the checkpoint under the new epoch")

        # A graceful stop hands over at once (the lease is released, not left to expire).
        active, waiting = (task1, task2) if held.holder == "one" else (task2, task1)
        other = "two" if held.holder == "one" else "one"
        await _stop(active)
        await _wait_for(lambda: _holder_is(name, other), 1.5, "a handover before the TTL")
        await _stop(waiting)
        held = await lease.current(name)
        assert held is not None and held.expires_at <= utcnow()
    finally:
        await es.close()


async def _not_held(mine: Lease | None) -> bool:
    return mine is not None and not mine.held


async def _holder_is(name: str, holder_prefix: str) -> bool:
    held = await lease.current(name)
    return held is not None and held.holder.startswith(holder_prefix) and not _expired(held)


def _expired(held: lease.LeaseState) -> bool:
    return held.expires_at <= utcnow()


# -- two `marketplace indexer run` processes -----------------------------------------------------


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MARKETPLACE), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
async def test_sigkill_of_the_active_indexer_fails_over_to_the_waiting_one(
    es_url: str, mongo_url: str
) -> None:
    """Deployed as documented: `migrate up` on a fresh database, then two `indexer run`."""
    secrets_ = secret_env()
    settings = Settings(
        mongodb_url=mongo_url,
        mongodb_database=f"t_{uuid.uuid4().hex[:10]}",
        elasticsearch_url=es_url,
        elasticsearch_index_prefix=f"t{uuid.uuid4().hex[:10]}-",
        webhook_secret=secrets_["WEBHOOK_SECRET"],
        cursor_secret=secrets_["CURSOR_SECRET"],
    )
    prefix = settings.elasticsearch_index_prefix
    name = alias_name(prefix)
    env = {
        **os.environ,
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE": settings.mongodb_database,
        "ELASTICSEARCH_URL": es_url,
        "ELASTICSEARCH_INDEX_PREFIX": prefix,
        "INDEXER_LEASE_TTL_S": "3",
        "LOG_LEVEL": "INFO",
        **secrets_,  # outside the embedded default, placeholder secrets are refused
    }
    migrated = _cli(env, "migrate", "up")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    client = store.make_client(mongo_url)
    await store.init_documents(client, settings.mongodb_database, create_indexes=False)

    logs = [tempfile.TemporaryFile() for _ in range(2)]  # noqa: SIM115 - live with the procs
    procs: list[subprocess.Popen[bytes]] = []
    es = AsyncElasticsearch(es_url)
    try:
        for log_file in logs:
            procs.append(
                spawn(
                    [str(MARKETPLACE), "indexer", "run"],
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )
        pids = {p.pid: p for p in procs}

        async def someone_holds() -> bool:
            held = await lease.current(name)
            return held is not None and not _expired(held) and _pid(held.holder) in pids

        await _wait_for(someone_holds, 60, "one of the indexers to take the lease")
        held = await lease.current(name)
        assert held is not None
        active = pids[_pid(held.holder)]
        standby = next(p for p in procs if p is not active)
        standby_log = logs[procs.index(standby)]

        async def standby_waits() -> bool:
            standby_log.seek(0)
            return b"waiting to take over" in standby_log.read()

        await _wait_for(standby_waits, 30, "the standby to say it waits")

        # Write load: inserts and updates, the active one is killed in the middle of it.
        stop = asyncio.Event()
        written: list[Any] = []

        async def load() -> None:
            i = 0
            while not stop.is_set():
                (listing,) = await insert(make_listing(title=f"load {i}"))
                written.append(listing)
                if i % 3 == 0 and len(written) > 2:
                    await apply_write(oid(written[i // 2]), {"$set": {"price.amount": 100 + i}})
                i += 1
                await asyncio.sleep(0.01)

        writer = asyncio.create_task(load())
        await asyncio.sleep(2)
        active.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        active.wait(timeout=10)

        async def standby_holds() -> bool:
            now = await lease.current(name)
            return now is not None and not _expired(now) and _pid(now.holder) == standby.pid

        await _wait_for(standby_holds, 30, "the standby to take over")
        took_over_s = time.monotonic() - killed_at
        await asyncio.sleep(1.5)  # writes keep coming after the takeover
        stop.set()
        await writer
        assert len(written) > 50
        await until_in_sync(es, prefix, timeout_s=30)

        verified = _cli(env, "index", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        status = _cli(env, "index", "status")
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)["lease"]
        assert _pid(shown["holder"]) == standby.pid and not shown["expired"], shown
        assert took_over_s < 30
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for log_file in logs:
            log_file.close()
        await es.close()
        await client.drop_database(settings.mongodb_database)
        client.close()
        await _drop_test_indices(settings)


def _pid(holder: str) -> int:
    return int(holder.split(":")[-2])
