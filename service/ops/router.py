"""Liveness, readiness (names the backing service that is down), Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.core.errors import ProblemError, problem_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any, timeout_s: float) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=timeout_s)
        return name, "ok"
    except Exception as exc:  # any failure means "not ready"; the name says which
        return name, f"unavailable: {type(exc).__name__}"


@router.get("/readyz", responses={503: {"description": "a backing service is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = [
        _check("mongodb", lambda: state.mongo_db.command("ping"), 3.0),
        _check("redis", state.redis.ping, 3.0),
    ]
    if state.es is not None:
        checks.append(_check("elasticsearch", lambda: state.es.cluster.health(timeout="2s"), 3.0))
    results = dict(await asyncio.gather(*checks))
    if state.es is None:
        results["elasticsearch"] = "unavailable: not configured"
    down = sorted(k for k, v in results.items() if v != "ok")
    if down:
        return problem_response(
            ProblemError(
                503,
                f"unavailable: {', '.join(down)}",
                extra={"service": down[0], "checks": results},
            )
        )
    return JSONResponse({"status": "ok", "checks": results})


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
