"""Prometheus metrics in the default registry (served by GET /metrics).

Labels are bounded: routes are templates (`/v1/listings/{listing_id}`), never raw paths, and
requests that match no route share the label `unmatched`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram
from pymongo import monitoring

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMIT_REJECTIONS = Counter(
    "ratelimit_rejections_total", "Requests refused with 429, by route class", ["route_class"]
)
RATE_LIMIT_BACKEND_ERRORS = Counter(
    "ratelimit_backend_errors_total",
    "Limiter checks that could not reach Redis, by route class and outcome (open/closed)",
    ["route_class", "outcome"],
)
LOGIN_LOCKOUTS = Counter(
    "login_lockouts_total", "Logins refused by the brute-force guard", ["scope"]
)
SEARCH_CACHE = Counter(
    "search_cache_requests_total",
    "Search cache lookups by kind (search, suggest) and outcome (hit, miss, error: bypassed)",
    ["kind", "outcome"],
)
BACKEND_LATENCY = Histogram(
    "backend_call_duration_seconds",
    "Latency of calls to backing services",
    ["service", "operation", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)


def _timed(service: str, op_of: Callable[..., str], fn: Callable[..., Awaitable[Any]]) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        outcome = "ok"
        try:
            return await fn(*args, **kwargs)
        except BaseException:
            outcome = "error"
            raise
        finally:
            BACKEND_LATENCY.labels(service, op_of(*args, **kwargs), outcome).observe(
                time.perf_counter() - start
            )

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def _redis_op(*args: Any, **_: Any) -> str:
    name = args[0] if args else "unknown"
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return str(name).split(" ")[0].upper()[:20]


def _es_op(method: str = "", path: str = "", *_: Any, **__: Any) -> str:
    # The last `_endpoint` segment names the API (_search, _bulk, _doc, _count, ...).
    segments = [s for s in str(path).split("?")[0].split("/") if s.startswith("_")]
    return f"{method} {segments[-1] if segments else '/'}"[:40]


def instrument_redis(client: Any) -> None:
    """Time every command this client sends (pipelines count as one EXEC call)."""
    if getattr(client.execute_command, "__wrapped__", None) is not None:
        return
    client.execute_command = _timed("redis", _redis_op, client.execute_command)


def instrument_es(client: Any) -> None:
    """Time every request through this client's transport (shared by `.options()` copies)."""
    if client is None:
        return
    transport = client.transport
    if getattr(transport.perform_request, "__wrapped__", None) is not None:
        return
    transport.perform_request = _timed("elasticsearch", _es_op, transport.perform_request)


class _MongoTimer(monitoring.CommandListener):
    """pymongo command monitoring: applies to every real MongoDB client created afterwards."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        BACKEND_LATENCY.labels("mongodb", event.command_name[:30], "ok").observe(
            event.duration_micros / 1e6
        )

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        BACKEND_LATENCY.labels("mongodb", event.command_name[:30], "error").observe(
            event.duration_micros / 1e6
        )


_mongo_registered = False


def register_mongo_listener() -> None:
    global _mongo_registered
    if not _mongo_registered:
        monitoring.register(_MongoTimer())
        _mongo_registered = True


def instrument_clients(state: Any) -> None:
    """Hook the app's Redis and Elasticsearch clients (called once the lifespan built them)."""
    instrument_redis(state.redis)
    instrument_es(getattr(state, "es", None))
