"""/v1/bookings: create (claim), list, read, accept, decline, cancel, complete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from documents import BookingStatus
from service import parties
from service.bookings import service
from service.bookings.schemas import BookingIn, BookingOut
from service.core.deps import CurrentUser, GuestUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.idempotency import IdempotencyKey, idempotent
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.payments.deps import ProviderDep

router = APIRouter(tags=["bookings"])

_ACTION_ERRORS = problem_responses(401, 403, 404, 409)


@router.post(
    "/v1/bookings",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_booking(
    body: BookingIn, user: GuestUser, settings: SettingsDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Claims the nights / hour seats / stock atomically; 409 when they are taken."""

    async def run() -> tuple[int, BookingOut]:
        return 201, BookingOut.of(await service.create(settings, user, body=body))

    return await idempotent(
        key=key,
        user_id=str(user.id),
        method="POST",
        path="/v1/bookings",
        body=body.model_dump(mode="json", exclude_unset=True),
        handler=run,
    )


@router.get("/v1/bookings", response_model=Page[BookingOut], responses=problem_responses(401, 422))
async def list_bookings(
    user: CurrentUser,
    settings: SettingsDep,
    as_: Annotated[Literal["guest", "host"], Query(alias="as")] = "guest",
    status_: Annotated[BookingStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Page[BookingOut]:
    secret = settings.cursor_secret.get_secret_value()
    after = decode_after(secret, cursor)
    rows = await service.list_for(user, role=as_, status=status_, limit=limit, after=after)
    rows, next_cursor = next_page(secret, rows, limit)
    return Page[BookingOut](items=[BookingOut.of(b) for b in rows], next_cursor=next_cursor)


@router.get(
    "/v1/bookings/{booking_id}", response_model=BookingOut, responses=problem_responses(401, 404)
)
async def get_booking(booking_id: str, user: CurrentUser) -> BookingOut:
    return BookingOut.of(await parties.visible(parse_object_id(booking_id, "booking"), user))


@router.post(
    "/v1/bookings/{booking_id}/accept", response_model=BookingOut, responses=_ACTION_ERRORS
)
async def accept_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return BookingOut.of(await service.accept(provider, user, booking_id=oid))


@router.post(
    "/v1/bookings/{booking_id}/decline", response_model=BookingOut, responses=_ACTION_ERRORS
)
async def decline_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return BookingOut.of(await service.decline(provider, user, booking_id=oid))


@router.post(
    "/v1/bookings/{booking_id}/cancel",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def cancel_booking(
    booking_id: str, user: CurrentUser, provider: ProviderDep, key: IdempotencyKey = None
) -> JSONResponse:
    """Either party; the guest is refunded per the listing's cancellation policy."""
    oid = parse_object_id(booking_id, "booking")

    async def run() -> tuple[int, BookingOut]:
        return 200, BookingOut.of(await service.cancel(provider, user, booking_id=oid))

    return await idempotent(
        key=key,
        user_id=str(user.id),
        method="POST",
        path=f"/v1/bookings/{booking_id}/cancel",
        body=None,
        handler=run,
    )


@router.post(
    "/v1/bookings/{booking_id}/complete", response_model=BookingOut, responses=_ACTION_ERRORS
)
async def complete_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return BookingOut.of(await service.complete(provider, user, booking_id=oid))
