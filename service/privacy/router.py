"""GET /v1/me/export, DELETE /v1/me."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from service.core.deps import CurrentUser, SessionsDep
from service.core.errors import problem_responses
from service.privacy import service
from service.privacy.schemas import ErasureOut, ExportOut

router = APIRouter(tags=["privacy"])


@router.get("/v1/me/export", response_model=ExportOut, responses=problem_responses(401))
async def export_me(user: CurrentUser) -> ExportOut:
    return ExportOut.model_validate(await service.export(user))


@router.delete(
    "/v1/me",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ErasureOut,
    responses=problem_responses(401),
)
async def erase_me(user: CurrentUser, sessions: SessionsDep, request: Request) -> ErasureOut:
    ip = request.client.host if request.client else None
    counts = await service.erase(user, sessions, ip=ip)
    return ErasureOut(status="erased", erased=counts)
