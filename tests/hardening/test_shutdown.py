"""The app's shutdown ends its background loops even when a cancel is swallowed on the way.

CPython 3.11's `asyncio.wait_for` returns normally when the cancel reaches it just as its call
completes (gh-86296); redis-py writes under it. In CI that left the alert loop running after
its cancel, and the shutdown waited 60 s for it. Here each loop meets a call that swallows its
cancel the same way, deterministically: it blocks until cancelled, then returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis
from asgi_lifespan import LifespanManager

import indexers.lease
import service.app
from indexers.lease import Lease
from indexers.runner import Indexer
from indexers.tasks import cancel_and_wait
from service.app import create_app
from service.core.config import Settings
from tests.conftest import make_settings

LOOPS = {
    # loop under test: (the settings that run it, the call of its turn that swallows a cancel;
    # the indexer's is its method follow_fx)
    "alerts": ({"run_alerts": True, "alerts_interval_s": 0.05}, "service.alerts.tasks.take_slot"),
    "sweeper": ({"run_booking_sweeper": True}, "service.app.sweep"),
    "indexer": ({"run_embedded_indexer": True}, None),
}


class Swallower:
    """A call that, the first time, blocks until cancelled and then returns `value`, as 3.11's
    wait_for does."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.entered = asyncio.Event()
        self.swallowed = 0

    async def __call__(self, *_: Any, **__: Any) -> Any:
        if self.entered.is_set():
            return self.value  # once is the bug; after that the loop's turns run as usual
        self.entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.swallowed += 1
        return self.value


@pytest.mark.parametrize("loop", sorted(LOOPS))
async def test_the_shutdown_ends_a_loop_whose_cancel_was_swallowed(
    loop: str,
    redis_server: Any,
    es_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis.Redis.from_url(redis_server.url).flushall()
    only, target = LOOPS[loop]
    flags = {"run_alerts": False, "run_booking_sweeper": False, "run_embedded_indexer": False}
    settings: Settings = make_settings(redis_server.url, es_url, **{**flags, **only})
    if loop == "alerts":
        swallower = Swallower(False)  # the slot was not taken: nothing to run this tick
    elif loop == "sweeper":
        swallower = Swallower({})
    else:
        swallower = Swallower(0)  # follow_fx: nothing re-projected
        monkeypatch.setattr(Indexer, "follow_fx", swallower)
    if target is not None:
        monkeypatch.setattr(target, swallower)
    # Without the loops' own check this bounds the wait, and the task is left running.
    monkeypatch.setattr(service.app, "SHUTDOWN_GRACE_S", 5.0)

    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await asyncio.wait_for(swallower.entered.wait(), 30)
        (task,) = app.state.background
    assert swallower.swallowed == 1
    assert task.cancelled()
    assert "did not stop" not in caplog.text


async def test_cancel_and_wait_returns_what_outlives_the_grace() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:  # swallows every cancel until released
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    async def raises() -> None:
        raise RuntimeError("boom")

    tasks = [
        asyncio.create_task(stubborn(), name="stubborn"),
        asyncio.create_task(asyncio.sleep(3600), name="sleeper"),
        asyncio.create_task(raises(), name="raises"),
    ]
    await asyncio.sleep(0)
    left = await cancel_and_wait(tasks, grace_s=0.2)
    assert [t.get_name() for t in left] == ["stubborn"]
    assert tasks[1].cancelled() and isinstance(tasks[2].exception(), RuntimeError)
    release.set()
    await tasks[0]
    assert await cancel_and_wait([], grace_s=0.1) == []


async def test_releasing_a_lease_ends_a_heartbeat_whose_cancel_was_swallowed(
    app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    renew = Swallower(True)  # renewed: the heartbeat would go on beating
    monkeypatch.setattr(indexers.lease, "renew", renew)
    mine = Lease("swallowed", ttl_s=0.6, holder="one")
    assert await mine.try_acquire() is not None
    await asyncio.wait_for(renew.entered.wait(), 10)
    # Not wait_for: on 3.11 it returns the result of a call that ends after its timeout.
    releasing = asyncio.create_task(mine.release())  # it waits for the heartbeat it cancelled
    done, _ = await asyncio.wait([releasing], timeout=10)
    assert releasing in done and renew.swallowed == 1 and not mine.held
    assert "did not stop" not in caplog.text  # it ended by itself, not by the grace running out


async def test_cancelling_a_release_is_not_swallowed_with_the_heartbeat(app: Any) -> None:
    mine = Lease("cancelled", ttl_s=30, holder="one")
    assert await mine.try_acquire() is not None
    heartbeat = mine._heartbeat
    assert heartbeat is not None
    releasing = asyncio.create_task(mine.release())
    await asyncio.sleep(0)  # inside release, waiting for the cancelled heartbeat
    releasing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await releasing
    assert heartbeat.cancelled()
