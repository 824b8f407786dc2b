"""Admission control for Elasticsearch-bound requests: shed load early instead of queueing.

Two caps per process: requests in flight to Elasticsearch (`search_max_in_flight`), and per
client (`client_max_in_flight`, a concurrency cap beside the rate limit). Both answer 503 with
Retry-After: they shed load; a rate quota is the limiter's 429. A request that would
wait longer than `search_queue_budget_s` for a slot (estimated from the recent service time)
is answered at once with a 503 and Retry-After, so a burst costs the caller milliseconds and
leaves the event loop free for everyone else (health checks included)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator

from service.core.config import Settings
from service.core.errors import ProblemError


def shed(detail: str, retry_after_s: float) -> ProblemError:
    # Names what it protects: every shed request would have been a search on Elasticsearch.
    return ProblemError(
        503,
        detail,
        type_="https://marketplace.dev/problems/overloaded",
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
        extra={"service": "elasticsearch"},
    )


class Gate:
    def __init__(self, settings: Settings) -> None:
        self.limit = settings.search_max_in_flight
        self.budget_s = settings.search_queue_budget_s
        self.per_client = settings.client_max_in_flight
        self._slots = asyncio.Semaphore(self.limit)
        self._waiting = 0
        self._service_s = 0.05  # moving average of one request's time in a slot
        self._clients: dict[str, int] = {}

    def expected_wait_s(self) -> float:
        if not self._slots.locked():
            return 0.0
        return (self._waiting + 1) / self.limit * self._service_s

    @contextlib.asynccontextmanager
    async def admit(self, client: str) -> AsyncIterator[None]:
        held = self._clients.get(client, 0)
        if held >= self.per_client:
            # Overload shedding, not a quota: the same 503 + Retry-After as a full gate (a
            # client retrying after it finds the process as loaded as it left it).
            raise shed(
                f"too many concurrent requests from this client (max {self.per_client})",
                self._service_s,
            )
        wait = self.expected_wait_s()
        if wait > self.budget_s:
            raise shed("search is overloaded; retry shortly", wait)
        self._clients[client] = held + 1
        try:
            self._waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.budget_s)
            except TimeoutError:
                raise shed("search is overloaded; retry shortly", self.budget_s) from None
            finally:
                self._waiting -= 1
            started = time.perf_counter()
            try:
                yield
            finally:
                self._slots.release()
                elapsed = time.perf_counter() - started
                self._service_s = 0.8 * self._service_s + 0.2 * elapsed
        finally:
            left = self._clients[client] - 1
            if left:
                self._clients[client] = left
            else:
                del self._clients[client]
