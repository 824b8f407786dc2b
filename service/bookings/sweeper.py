"""Background loop running `sweep` (expiry of requests, crash recovery) and review repair."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from service.bookings.service import sweep
from service.payments.provider import get_provider
from service.reviews.service import repair_summaries

log = logging.getLogger(__name__)


async def run_sweeper(state: Any) -> None:
    settings = state.settings
    provider = getattr(state, "payment_provider", None) or get_provider(settings)
    while True:
        try:
            counts = await sweep(provider)
            repaired = await repair_summaries()
            if any(counts.values()) or repaired:
                log.info("booking sweep: %s, review summaries repaired: %d", counts, repaired)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed sweep is retried on the next tick; never kill the loop
            log.exception("booking sweep failed")
        await asyncio.sleep(settings.booking_sweep_interval_s)
