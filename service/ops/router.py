"""Liveness, readiness (names the backing service that is down), Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from service.core.deps import SettingsDep
from service.core.errors import ProblemError, not_found, problem_response, problem_responses

router = APIRouter(tags=["operations"])


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessChecks(BaseModel):
    """Each backing service: `ok`, or `unavailable: <reason>`."""

    mongodb: str = Field(examples=["ok"])
    redis: str = Field(examples=["ok"])
    elasticsearch: str = Field(examples=["ok"])


class ReadinessOut(BaseModel):
    status: Literal["ok"] = "ok"
    checks: ReadinessChecks


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut()


async def _check(name: str, probe: Any, timeout_s: float) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=timeout_s)
        return name, "ok"
    except Exception as exc:  # any failure means "not ready"; the name says which
        return name, f"unavailable: {type(exc).__name__}"


@router.get("/readyz", response_model=ReadinessOut, responses=problem_responses(503))
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


@router.get(
    "/metrics",
    response_class=Response,
    responses=problem_responses(401, 404),
    description="Prometheus metrics; `Authorization: Bearer <METRICS_TOKEN>`, 404 when unset.",
)
async def metrics(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    if settings.metrics_token is None:
        raise not_found("route")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    if not hmac.compare_digest((authorization or "").encode(), expected):
        raise ProblemError(
            401, "metrics need the metrics token", headers={"WWW-Authenticate": "Bearer"}
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
