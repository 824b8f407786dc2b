"""Stopping background loops by cancellation, when a cancel can be lost on the way.

On CPython 3.11, `asyncio.wait_for` swallows a cancellation that reaches it just as the call it
waits for completes: it returns the call's result instead of raising (gh-86296, fixed in 3.12).
redis-py runs every socket write under `wait_for` when a socket timeout is set, so a loop that
is cancelled mid-command can carry on as if nothing happened, and whoever awaits it after
`cancel()` waits forever. That was a 60 s hang of the app's shutdown, one run in about a dozen.

The task still remembers the request (`Task.cancelling()` stays above zero until someone calls
`uncancel()`), so a loop that looks at it once per turn stops on its next turn however the
cancel was lost. `cancel_and_wait` is the other half: it never waits unboundedly for a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


def stop_if_cancelled() -> None:
    """Raise CancelledError if the current task was asked to stop, even if the request was
    swallowed on the way. Call it once per turn of a loop that is stopped by cancellation."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], grace_s: float
) -> list[asyncio.Task[Any]]:
    """Cancel every task and wait for them to end, for at most `grace_s`; returns those still
    running then, by name (the caller names them and moves on: a shutdown must not hang).

    Each is cancelled once: one that is handling its cancel (the indexer's final flush) must
    not be interrupted, and `cancelling()` cannot tell that from a cancel swallowed on the way,
    which `stop_if_cancelled` covers in the loops themselves."""
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    pending: set[asyncio.Task[Any]] = set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a loop's own failure was logged where it happened
    return sorted(pending, key=lambda t: t.get_name())
