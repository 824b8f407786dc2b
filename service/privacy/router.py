"""GET /v1/me/export, DELETE /v1/me."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from service.core.deps import CurrentUser, SessionsDep
from service.core.errors import problem_responses
from service.privacy import service

router = APIRouter(tags=["privacy"])

Rows = list[dict[str, Any]]


class ExportOut(BaseModel):
    """Everything held about the caller. Secrets (password hash, session tokens) are not data
    about the person and are never exported."""

    profile: dict[str, Any]
    listings: Rows
    bookings_as_guest: Rows
    bookings_as_host: Rows
    reviews: Rows
    conversations: Rows
    messages: Rows
    payments: Rows
    payouts: Rows
    ledger_entries: Rows
    audit_events: Rows
    exported_at: datetime


class ErasureOut(BaseModel):
    status: str
    erased: dict[str, int]


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
