"""/healthz and /readyz answered in front of the middleware stack (pure ASGI, no routing).

Under a burst of searches everything behind the hardening middleware can queue: Redis (the
session lookup, the limiter's Lua), the admission gate, FastAPI's dependency resolution. A
probe that waits there reports a healthy process as down, so the probes are answered here,
before any of it: liveness from in-process state only, readiness by pinging the backing
services with tight timeouts, one check in flight at a time and a good result kept briefly.
They still get a request id, metrics and an access-log line; never a session or a limit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from service.core.config import Settings
from service.core.errors import PROBLEM_JSON, ProblemError
from service.core.middleware import PROBES, record, request_id_of

HEALTH_BODY = orjson.dumps({"status": "ok"})
BACKENDS = ("mongodb", "redis", "elasticsearch")


def _reason(exc: BaseException) -> str:
    return f"unavailable: {type(exc).__name__}"


async def _check(name: str, probe: Any, timeout_s: float) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=timeout_s)
        return name, "ok"
    except Exception as exc:  # any failure means "not ready"; the name says which
        return name, _reason(exc)


class Readiness:
    """Each backing service's state, checked at most once at a time per process. An all-ok
    result is reused for `readyz_cache_s` (a probe storm costs one ping per service); a
    failure never is, so a recovered backend is seen by the next probe."""

    def __init__(self, settings: Settings) -> None:
        self.timeout_s = settings.readyz_timeout_s
        self.cache_s = settings.readyz_cache_s
        self._ok_at = -float("inf")
        self._ok: dict[str, str] = {}
        self._running: asyncio.Task[dict[str, str]] | None = None

    async def _run(self, state: Any) -> dict[str, str]:
        checks = [
            _check("mongodb", lambda: state.mongo_db.command("ping"), self.timeout_s),
            _check("redis", state.redis.ping, self.timeout_s),
        ]
        if state.es is not None:
            wait = f"{max(1, int(self.timeout_s * 1000))}ms"  # ES time units are integers
            health = lambda: state.es.cluster.health(timeout=wait)  # noqa: E731
            checks.append(_check("elasticsearch", health, self.timeout_s))
        results = dict(await asyncio.gather(*checks))
        if state.es is None:
            results["elasticsearch"] = "unavailable: not configured"
        if all(v == "ok" for v in results.values()):
            self._ok, self._ok_at = results, time.monotonic()
        return results

    async def results(self, state: Any) -> dict[str, str]:
        if time.monotonic() - self._ok_at < self.cache_s:
            return dict(self._ok)
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._run(state))
        # Shielded: one caller giving up (client gone) must not cancel the others' check.
        return dict(await asyncio.shield(self._running))


def readiness_answer(results: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """The status and body of /readyz for these results (503 problem naming the first down)."""
    down = sorted(k for k, v in results.items() if v != "ok")
    if not down:
        return 200, {"status": "ok", "checks": results}
    problem = ProblemError(
        503, f"unavailable: {', '.join(down)}", extra={"service": down[0], "checks": results}
    )
    body = {
        "type": problem.type,
        "title": problem.title,
        "status": 503,
        "detail": problem.detail,
        "errors": [],
        **problem.extra,
    }
    return 503, body


def readiness_of(state: Any) -> Readiness:
    """The process's one Readiness (shared by the fast path and the routed handler)."""
    found = getattr(state, "readiness", None)
    if found is None:
        found = state.readiness = Readiness(state.settings)
    return found


class ProbeFastPath:
    """Outermost ASGI app: GET/HEAD /healthz and /readyz never reach the middleware stack."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] not in PROBES
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        state = scope["app"].state
        status, content_type = 200, b"application/json"
        if scope["path"] == "/healthz":
            body = HEALTH_BODY  # the process answers: that is all liveness means
        else:
            if hasattr(state, "redis"):
                results = await readiness_of(state).results(state)
            else:  # lifespan not run: nothing is connected yet
                results = {name: "unavailable: not started" for name in BACKENDS}
            status, answer = readiness_answer(results)
            if status != 200:
                content_type = PROBLEM_JSON.encode()
            body = orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                ],
            }
        )
        head = scope["method"] == "HEAD"
        await send({"type": "http.response.body", "body": b"" if head else body})
        record(scope, scope["path"], status, time.perf_counter() - started, request_id)
