"""Liveness, readiness (names the backing service that is down), Prometheus metrics."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from service.core.deps import SettingsDep
from service.core.errors import PROBLEM_JSON, ProblemError, not_found, problem_responses
from service.ops.probes import readiness_answer, readiness_of

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


@router.get("/readyz", response_model=ReadinessOut, responses=problem_responses(503))
async def readyz(request: Request) -> JSONResponse:
    # Normally answered by probes.ProbeFastPath before routing; the same check either way.
    state = request.app.state
    status, body = readiness_answer(await readiness_of(state).results(state))
    if status != 200:
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    return JSONResponse(body)


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
