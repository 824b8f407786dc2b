"""The saved-search alert job: ticks from the app lifespan in every API worker, runs in one.

Each tick is a time slot (`alerts_interval_s` wide); the worker that takes the slot's Redis key
(SET NX PX) runs it, the others skip. Notifications are unique per event as well, so a slot run
twice (a lost key, a slow run overlapping the next) still notifies once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from indexers.tasks import stop_if_cancelled
from service.alerts.service import run_alerts
from service.core.config import Settings

log = logging.getLogger(__name__)


def _lock_key(settings: Settings, slot: int) -> str:
    # Namespaced like the data it guards (tests run many apps against one Redis).
    scope = f"{settings.mongodb_database}:{settings.elasticsearch_index_prefix}"
    return f"lock:alerts:{scope}:{slot}"


async def take_slot(redis: Any, settings: Settings, now: float | None = None) -> bool:
    interval = settings.alerts_interval_s
    slot = int((time.time() if now is None else now) // interval)
    ttl_ms = max(1, int(interval * 2000))
    return bool(await redis.set(_lock_key(settings, slot), uuid.uuid4().hex, nx=True, px=ttl_ms))


async def run_alert_loop(state: Any) -> None:
    settings: Settings = state.settings
    while True:
        stop_if_cancelled()  # a cancel swallowed mid-tick (see indexers.tasks) stops it here
        await asyncio.sleep(settings.alerts_interval_s)
        try:
            if state.es is not None and await take_slot(state.redis, settings):
                counts = await run_alerts(state.es, settings)
                if counts["notified"]:
                    log.info("saved-search alerts: %s", counts)
        except asyncio.CancelledError:
            raise
        except Exception:  # retried on the next tick; never kill the loop
            log.exception("saved-search alerts failed")
