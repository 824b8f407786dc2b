"""PUT /v1/admin/fx (admin, audited) and GET /v1/fx (anyone): the exchange-rate table."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.core.deps import AdminUser
from service.core.errors import not_found, problem_responses
from service.fx import service
from service.fx.schemas import FxTableIn, FxTableOut

router = APIRouter(tags=["currency"])


@router.put(
    "/v1/admin/fx",
    response_model=FxTableOut,
    responses=problem_responses(401, 403, 409, 422),
)
async def put_fx_table(body: FxTableIn, user: AdminUser, request: Request) -> FxTableOut:
    ip = request.client.host if request.client else None
    table = await service.set_table(str(user.id), base=body.base, rates=body.rates, ip=ip)
    return FxTableOut.of(table)


@router.get("/v1/fx", response_model=FxTableOut, responses=problem_responses(404))
async def get_fx_table() -> FxTableOut:
    table = await service.current()
    if table is None:
        raise not_found("exchange-rate table")
    return FxTableOut.of(table)
