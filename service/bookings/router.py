"""/v1/bookings: create (claim), list, read, accept, decline, cancel, complete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from documents import Booking, BookingStatus
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

STATE_TABLE = """

Which action is allowed from which status (anything else is 409 with `current_status`):

| status | accept (host) | decline (host) | cancel: guest | cancel: host | complete | pay |
|---|---|---|---|---|---|---|
| requested | accepted | declined | withdrawn | 409: decline it | 409 | yes |
| accepted | 409 | 409 | cancelled | cancelled | completed, after the end | yes |
| declined, expired, withdrawn, cancelled, completed | 409 | 409 | 409 | 409 | 409 | 409 |

`requested` expires (`expired`) at `expires_at`. `withdrawn`: no policy, nothing charged is kept
(a payment made while requested is refunded in full), the nights are free at once. `cancelled`
refunds per the cancellation policy (in full when the host cancels)."""


async def _out(booking: Booking) -> BookingOut:
    statuses = await service.payment_status_of([booking])
    return BookingOut.of(booking, statuses.get(str(booking.id), "none"))


def _location(result: BaseModel | dict[str, Any]) -> dict[str, str]:
    assert isinstance(result, BookingOut)
    return {"Location": f"/v1/bookings/{result.id}"}


@router.post(
    "/v1/bookings",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    description=(
        "Claims the nights / hour seats / stock atomically; 409 when they are taken. The body is"
        " one of three shapes, by the listing's unit: nights (`check_in, check_out, guests`),"
        " hour slots (`start, end, seats`) or items (`quantity`); a field of another shape is"
        " 422 naming it. 201 with `Location: /v1/bookings/{booking_id}` and status `requested`"
        " (`accepted` when the listing has instant book)." + STATE_TABLE
    ),
)
async def create_booking(
    body: BookingIn, user: GuestUser, settings: SettingsDep, key: IdempotencyKey = None
) -> JSONResponse:
    async def run() -> tuple[int, BookingOut]:
        return 201, BookingOut.of(await service.create(settings, user, body=body))

    return await idempotent(
        key=key,
        user_id=str(user.id),
        method="POST",
        path="/v1/bookings",
        body=body.model_dump(mode="json", exclude_unset=True),
        handler=run,
        headers=_location,
    )


@router.get(
    "/v1/bookings",
    response_model=Page[BookingOut],
    responses=problem_responses(401, 422),
    description="The caller's bookings as guest or host, newest first." + STATE_TABLE,
)
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
    paid = await service.payment_status_of(rows)
    return Page[BookingOut](
        items=[BookingOut.of(b, paid.get(str(b.id), "none")) for b in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/v1/bookings/{booking_id}",
    response_model=BookingOut,
    responses=problem_responses(401, 404),
    description="The guest or the listing's owner; 404 for anyone else." + STATE_TABLE,
)
async def get_booking(booking_id: str, user: CurrentUser) -> BookingOut:
    return await _out(await parties.visible(parse_object_id(booking_id, "booking"), user))


@router.post(
    "/v1/bookings/{booking_id}/accept",
    response_model=BookingOut,
    responses=_ACTION_ERRORS,
    description="The host accepts a `requested` booking." + STATE_TABLE,
)
async def accept_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return await _out(await service.accept(provider, user, booking_id=oid))


@router.post(
    "/v1/bookings/{booking_id}/decline",
    response_model=BookingOut,
    responses=_ACTION_ERRORS,
    description="The host declines a `requested` booking; anything paid is refunded in full."
    + STATE_TABLE,
)
async def decline_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return await _out(await service.decline(provider, user, booking_id=oid))


@router.post(
    "/v1/bookings/{booking_id}/cancel",
    response_model=BookingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    description=(
        "Either party cancels an `accepted` booking (`cancelled`: the guest is refunded per the"
        " listing's cancellation policy, in full when the host cancels). The guest may also"
        " withdraw a `requested` booking (`withdrawn`: the nights are free at once, no policy"
        " applies, nothing is kept)." + STATE_TABLE
    ),
)
async def cancel_booking(
    booking_id: str, user: CurrentUser, provider: ProviderDep, key: IdempotencyKey = None
) -> JSONResponse:
    oid = parse_object_id(booking_id, "booking")

    async def run() -> tuple[int, BookingOut]:
        return 200, await _out(await service.cancel(provider, user, booking_id=oid))

    return await idempotent(
        key=key,
        user_id=str(user.id),
        method="POST",
        path=f"/v1/bookings/{booking_id}/cancel",
        body=None,
        handler=run,
    )


@router.post(
    "/v1/bookings/{booking_id}/complete",
    response_model=BookingOut,
    responses=_ACTION_ERRORS,
    description="The host completes an `accepted` booking after its end; the money settles."
    + STATE_TABLE,
)
async def complete_booking(booking_id: str, user: CurrentUser, provider: ProviderDep) -> BookingOut:
    oid = parse_object_id(booking_id, "booking")
    return await _out(await service.complete(provider, user, booking_id=oid))
