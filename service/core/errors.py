"""Every error is an RFC 9457 problem+json answer; backing-service outages are 503s naming it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import elastic_transport
import pymongo.errors
import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.type = (
            type_ or f"https://marketplace.dev/problems/{self.title.lower().replace(' ', '-')}"
        )
        self.errors = list(errors or [])
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(what: str = "resource") -> ProblemError:
    return ProblemError(404, f"{what} not found")


def forbidden(detail: str = "not allowed") -> ProblemError:
    return ProblemError(403, detail)


def conflict(detail: str, **extra: Any) -> ProblemError:
    return ProblemError(409, detail, extra=extra)


def unauthorized(detail: str = "authentication required") -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})


def invalid(field: str | Sequence[str | int], msg: str, status: int = 422) -> ProblemError:
    loc = [field] if isinstance(field, str) else list(field)
    return ProblemError(
        status, f"{'.'.join(map(str, loc))}: {msg}", errors=[{"loc": loc, "msg": msg}]
    )


def unavailable(service: str, detail: str | None = None) -> ProblemError:
    return ProblemError(
        503,
        detail or f"{service} is unavailable",
        type_=f"https://marketplace.dev/problems/{service}-unavailable",
        headers={"Retry-After": "5"},
        extra={"service": service},
    )


def problem_response(problem: ProblemError, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "errors": problem.errors,
        **problem.extra,
    }
    if request is not None:
        body["instance"] = request.url.path
    return JSONResponse(
        body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def _loc(loc: Sequence[Any]) -> list[Any]:
    return [p for p in loc if p not in ("body",)] or list(loc)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": _loc(e.get("loc", ())), "msg": e.get("msg", "invalid")} for e in exc.errors()]
    fields = ", ".join(".".join(map(str, e["loc"])) for e in errors[:5])
    return problem_response(ProblemError(422, f"invalid input: {fields}", errors=errors), request)


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request)


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return problem_response(
        ProblemError(exc.status_code, detail, headers=dict(exc.headers or {})), request
    )


async def _mongo_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("mongodb unavailable: %s", type(exc).__name__)
    return problem_response(unavailable("mongodb"), request)


async def _redis_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("redis unavailable: %s", type(exc).__name__)
    return problem_response(unavailable("redis"), request)


async def _es_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("elasticsearch unavailable: %s", type(exc).__name__)
    if isinstance(exc, elastic_transport.ConnectionTimeout):
        return problem_response(
            ProblemError(504, "elasticsearch timed out", extra={"service": "elasticsearch"}),
            request,
        )
    return problem_response(unavailable("elasticsearch"), request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Log the trace for operators; the client gets a problem document, never a stack trace.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(ProblemError(500, "internal error"), request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(ProblemError, _problem_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(pymongo.errors.ConnectionFailure, _mongo_down)
    app.add_exception_handler(pymongo.errors.ServerSelectionTimeoutError, _mongo_down)
    app.add_exception_handler(redis.exceptions.ConnectionError, _redis_down)
    app.add_exception_handler(redis.exceptions.TimeoutError, _redis_down)
    app.add_exception_handler(elastic_transport.ConnectionError, _es_down)
    app.add_exception_handler(elastic_transport.ConnectionTimeout, _es_down)
    app.add_exception_handler(Exception, _unexpected)


# The body of every error: the `Problem` component that service/core/openapi.py defines.
PROBLEM_SCHEMA: dict[str, Any] = {
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _TITLES.get(code, "Error"), **PROBLEM_SCHEMA} for code in codes}
