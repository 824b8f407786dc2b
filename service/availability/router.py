"""GET /v1/listings/{id}/availability, PUT /v1/listings/{id}/availability/blocks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from service.availability import service
from service.availability.schemas import AvailabilityOut, BlocksIn
from service.core.deps import HostUser, OptionalUser, parse_object_id
from service.core.errors import problem_responses

router = APIRouter(tags=["availability"])

DateOrTime = date | datetime | None


@router.get(
    "/v1/listings/{listing_id}/availability",
    response_model=AvailabilityOut,
    response_model_by_alias=True,
    responses=problem_responses(404, 422),
)
async def get_availability(
    listing_id: str,
    user: OptionalUser,
    frm: Annotated[
        DateOrTime, Query(alias="from", description="first night (date) or hour (RFC 3339)")
    ] = None,
    to: Annotated[DateOrTime, Query(description="end, exclusive (date or RFC 3339)")] = None,
) -> AvailabilityOut:
    return await service.get_availability(parse_object_id(listing_id, "listing"), user, frm, to)


@router.put(
    "/v1/listings/{listing_id}/availability/blocks",
    response_model=AvailabilityOut,
    response_model_by_alias=True,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def put_blocks(listing_id: str, body: BlocksIn, user: HostUser) -> AvailabilityOut:
    return await service.replace_blocks(parse_object_id(listing_id, "listing"), user, body)
