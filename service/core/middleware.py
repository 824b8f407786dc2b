"""HTTP middleware: request ids and logging, rate limits, body size caps, metrics.

One pure-ASGI middleware does all of it in a single pass (no BaseHTTPMiddleware: it buffers and
costs a task per request). Order of work for a request:
  1. request id (accepted from X-Request-ID when sane, else generated; echoed back),
  2. body size cap (Content-Length up front, streamed bytes as they arrive) -> 413,
  3. the caller's identity (session resolved once and handed to the auth dependencies),
  4. the rate limit for the route's class -> 429 / fail-open / 503 naming redis,
  5. the app, then metrics and one JSON access-log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

import orjson
import redis.exceptions
from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.core.admission import Gate
from service.core.config import Settings
from service.core.errors import ProblemError, problem_response, unavailable
from service.core.logging import ACCESS_LOGGER, configure_logging
from service.core.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    RATE_LIMIT_BACKEND_ERRORS,
    RATE_LIMIT_REJECTIONS,
    instrument_clients,
    register_mongo_listener,
)
from service.core.ratelimit.limiter import Decision, Limiter, RouteClass, fails_open
from service.core.sessions import MAX_TOKEN_LENGTH, token_from

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PROBES = frozenset({"/healthz", "/readyz"})
_PRIVATE = re.compile(r"^/v1/(auth|me)(/|$)")
_AUTH_PATHS = frozenset({"/v1/auth/login", "/v1/auth/register"})
REDIS_ERRORS = (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)


class BodyTooLarge(HTTPException):
    """Raised from `receive`; FastAPI re-raises HTTPExceptions met while reading the body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


def route_class(method: str, path: str) -> RouteClass:
    if path in _AUTH_PATHS and method == "POST":
        return RouteClass.auth
    if path.startswith("/v1/payments/webhook"):
        return RouteClass.webhook
    if path.startswith("/v1/search"):
        return RouteClass.search
    if method not in _SAFE_METHODS:
        return RouteClass.write
    return RouteClass.read


class RouteTable:
    """Path templates of the app, for bounded metric labels. Built once from the OpenAPI
    paths (plus schema-less routes) with Starlette's own path compiler."""

    def __init__(self, app: FastAPI) -> None:
        try:
            paths = set(app.openapi().get("paths", {}))
        except Exception:  # a broken schema must not break every request's metrics
            log.exception("route table: could not build the OpenAPI schema")
            paths = set()
        paths |= {p for r in app.router.routes if isinstance(p := getattr(r, "path", None), str)}
        # Literal segments win over parameters (`/v1/me/export` before `/v1/me/{x}`).
        ordered = sorted(paths, key=lambda p: (p.count("{"), -len(p)))
        self.patterns = [(compile_path(p)[0], p) for p in ordered]

    def match(self, path: str) -> str:
        for regex, template in self.patterns:
            if regex.match(path):
                return template
        return "unmatched"


def route_template(app: FastAPI, scope: Scope) -> str:
    """The matched route's path template; `unmatched` for paths no route serves."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    table = getattr(app.state, "_route_table", None)
    if table is None:
        table = app.state._route_table = RouteTable(app)
    return table.match(scope["path"])


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID when sane, else a fresh one."""
    incoming = _header(scope, b"x-request-id")
    return incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def record(
    scope: Scope,
    template: str,
    status: int,
    elapsed: float,
    request_id: str,
    user_id: str | None = None,
) -> None:
    """Metrics and the one JSON access-log line of a finished request."""
    method: str = scope["method"]
    label = str(status)
    HTTP_REQUESTS.labels(method, template, label).inc()
    HTTP_LATENCY.labels(method, template, label).observe(elapsed)
    access_log.info(
        "%s %s %s",
        method,
        template,
        status,
        extra={
            "method": method,
            "route": template,
            "path": scope["path"],
            "status": status,
            "latency_ms": round(elapsed * 1000, 2),
            "request_id": request_id,
            "user_id": user_id,
        },
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._limiter: Limiter | None = None
        self._gate = Gate(settings)  # per process: Elasticsearch-bound admission

    def _limiter_for(self, state: Any) -> Limiter:
        # The Redis client exists only once the lifespan ran; build (and instrument) lazily.
        if self._limiter is None or self._limiter.redis is not state.redis:
            instrument_clients(state)
            self._limiter = Limiter(state.redis, self.settings)
        return self._limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        app: FastAPI = scope["app"]
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = request_id_of(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status_holder = {"status": 500}
        extra_headers: dict[str, str] = {"X-Request-ID": request_id}
        user_id: str | None = None

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                for key, value in extra_headers.items():
                    headers[key] = value
            await send(message)

        gate = contextlib.AsyncExitStack()
        try:
            if path in PROBES:
                # Health checks skip sessions and limits: under a burst those wait on Redis
                # (and on the limiter's Lua), and a probe that waits reports a healthy
                # process as down. (service.ops.probes answers them before this runs; this
                # keeps them unlimited where that fast path is not installed.)
                await self.app(scope, receive, send_wrapper)
                return
            if route_class(method, path) is RouteClass.search and hasattr(app.state, "redis"):
                # Admission first, by peer address: a burst is shed before it costs a session
                # lookup or a limiter call each (those queue on Redis and the event loop).
                try:
                    await gate.enter_async_context(self._gate.admit(f"ip:{_client_ip(scope)}"))
                except ProblemError as shed:
                    await problem_response(shed, Request(scope))(scope, receive, send_wrapper)
                    return
            early = await self._guard(app, scope, method, path, extra_headers)
            if isinstance(early, ProblemError):
                await problem_response(early, Request(scope))(scope, receive, send_wrapper)
                return
            user_id = early
            if user_id or _PRIVATE.match(path):
                # Tokens and personal data: no shared or browser cache may keep the answer.
                extra_headers["Cache-Control"] = "no-store"
            inspected = await self._inspect_input(scope, receive)
            if isinstance(inspected, ProblemError):
                await problem_response(inspected, Request(scope))(scope, receive, send_wrapper)
                return
            await self.app(scope, inspected, send_wrapper)
        except Exception:
            status_holder["status"] = 500
            raise
        finally:
            await gate.aclose()
            status = status_holder["status"]
            record(
                scope,
                route_template(app, scope),
                status,
                time.perf_counter() - started,
                request_id,
                state.get("user_id") or user_id,
            )

    async def _guard(
        self, app: FastAPI, scope: Scope, method: str, path: str, extra_headers: dict[str, str]
    ) -> ProblemError | str | None:
        """Size cap, identity and rate limit. Returns a problem to answer with, or the user id."""
        state = app.state
        if not hasattr(state, "redis"):  # lifespan not run (e.g. schema export): nothing to guard
            return self._size_problem(scope)
        klass = route_class(method, path)
        user_id: str | None = None
        token = token_from(
            _header(scope, b"authorization"),
            _header(scope, b"cookie"),
            self.settings.session_cookie_name,
        )
        if token and len(token) <= MAX_TOKEN_LENGTH:
            try:
                session = await state.sessions.resolve(token)
            except REDIS_ERRORS:
                log.warning("session check failed: redis unreachable")
                return unavailable("redis", "redis is unavailable: sessions cannot be checked")
            if session is not None:
                scope["state"]["session"] = session
                user_id = session.user_id

        if not self.settings.rate_limit_enabled:
            return self._size_problem(scope) or user_id
        identity = f"u:{user_id}" if user_id else f"ip:{_client_ip(scope)}"
        limiter = self._limiter_for(state)
        decision: Decision
        try:
            decision = await limiter.check(klass, identity)
        except REDIS_ERRORS:
            if fails_open(self.settings, klass):
                RATE_LIMIT_BACKEND_ERRORS.labels(klass.value, "open").inc()
                decision = limiter.open_decision(klass)
            else:
                RATE_LIMIT_BACKEND_ERRORS.labels(klass.value, "closed").inc()
                log.warning("rate limit check failed closed for %s: redis unreachable", klass)
                return unavailable("redis", "redis is unavailable: rate limits cannot be checked")
        extra_headers.update(decision.headers())
        if not decision.allowed:
            RATE_LIMIT_REJECTIONS.labels(klass.value).inc()
            return ProblemError(
                429,
                f"rate limit for {klass.value} requests exceeded; retry in "
                f"{decision.retry_after_s} s",
                type_="https://marketplace.dev/problems/rate-limited",
                headers={"Retry-After": str(max(1, decision.retry_after_s))},
                extra={"route_class": klass.value},
            )
        return self._size_problem(scope) or user_id

    def _size_problem(self, scope: Scope) -> ProblemError | None:
        """Refuse a declared oversized body before reading a byte of it."""
        length = _header(scope, b"content-length")
        if length is None:
            return None
        if not length.isdigit():
            return ProblemError(400, "invalid Content-Length")
        if int(length) > self.settings.max_body_bytes:
            return ProblemError(413, f"request body exceeds {self.settings.max_body_bytes} bytes")
        return None

    async def _inspect_input(self, scope: Scope, receive: Receive) -> Receive | ProblemError:
        """Reject Mongo operators in query strings and JSON bodies; cap the body size.

        Typed models already refuse most of it; this is the catch-all so that no `{"$gt": ""}`
        ever reaches a handler through a loosely typed field. JSON bodies (small, capped) are
        read here and replayed to the app; any other body is capped as it streams.
        """
        # Search text is free text for Elasticsearch, never a Mongo filter: `q=$USD` is a query.
        free_text = _FREE_TEXT if scope["path"].startswith("/v1/search") else frozenset()
        problem = operator_in_query(scope.get("query_string", b""), free_text)
        if problem is not None:
            return problem
        if scope["method"] in _SAFE_METHODS or scope["path"].startswith("/v1/payments/webhook"):
            return self._capped(scope, receive)
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if not (content_type == "application/json" or content_type.endswith("+json")):
            return self._capped(scope, receive)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                return ProblemError(
                    413, f"request body exceeds {self.settings.max_body_bytes} bytes"
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError as exc:
            # Malformed (or not UTF-8) JSON is bad input like any other: 422 naming the body,
            # where FastAPI alone would answer some of it with a bare 400.
            return ProblemError(
                422,
                "body: malformed JSON",
                errors=[{"loc": ["body"], "msg": f"malformed JSON: {str(exc)[:80]}"}],
            )
        duplicate = duplicate_key(body)
        if duplicate is not None:
            # Parsers disagree on which of two `title`s wins (ours: the last): refuse both.
            return ProblemError(
                422,
                f"body: duplicate key {duplicate!r}",
                errors=[{"loc": ["body", duplicate], "msg": "duplicate key in a JSON object"}],
            )
        locs = _operator_keys(parsed, [], [])
        if locs:
            msg = "keys starting with '$' are not accepted"
            fields = ", ".join(".".join(map(str, loc)) for loc in locs[:5])
            return ProblemError(
                422, f"{fields}: {msg}", errors=[{"loc": loc, "msg": msg} for loc in locs]
            )
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    def _capped(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.settings.max_body_bytes
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def duplicate_key(body: bytes) -> str | None:
    """The first key that appears twice in one object of this (valid) JSON document."""
    if body.count(b":") < 2:
        return None
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        return str(exc.args[0])
    except ValueError:  # orjson accepted it; the stdlib's opinion on anything else is moot
        return None
    return None


_OPERATOR_VALUE = re.compile(r"^\s*\$[A-Za-z]+\s*$")


def _operator_keys(
    value: Any, path: list[str | int], found: list[list[str | int]], depth: int = 0
) -> list[list[str | int]]:
    """Locations of object keys that start with `$` (Mongo operators), at most 20."""
    if depth > 64 or len(found) >= 20:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("$"):
                found.append([*path, key])
            else:
                _operator_keys(item, [*path, key], found, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _operator_keys(item, [*path, i], found, depth + 1)
    return found


_FREE_TEXT = frozenset({"q"})


def operator_in_query(raw: bytes, free_text: frozenset[str] = frozenset()) -> ProblemError | None:
    """`status[$ne]=x`, `q=$where` or `q={"$gt": ""}` in a query string is an injection attempt
    (except in the `free_text` parameters, which only ever reach Elasticsearch as text)."""
    if b"$" not in raw and b"%24" not in raw.lower():
        return None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key in free_text:
            continue
        bad = "$" in key or bool(_OPERATOR_VALUE.match(value))
        if not bad and value.lstrip().startswith("{"):
            try:
                bad = bool(_operator_keys(orjson.loads(value), [], []))
            except orjson.JSONDecodeError:
                bad = False
        if bad:
            name = key.split("[")[0]
            return ProblemError(
                422,
                f"{name}: Mongo operators are not accepted",
                errors=[{"loc": ["query", name], "msg": "Mongo operators are not accepted"}],
            )
    return None


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Hardening (rate limits, request ids, JSON logs, metrics) is installed here."""
    if not logging.getLogger().handlers:  # not configured by the host process (CLI, tests)
        configure_logging(settings)
    register_mongo_listener()
    app.add_middleware(HardeningMiddleware, settings=settings)
    if settings.forwarded_allow_ips.strip():
        # Outermost: the client address every later step (limits, lockouts, audit) sees is the
        # forwarded one only when the peer is a configured proxy. uvicorn's own parser.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # What this middleware answers (413, 422, 429, 503) is declared by service.core.openapi.
