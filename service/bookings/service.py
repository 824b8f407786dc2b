"""Booking use cases: create (claim), the state machine, expiry and crash recovery.

Ordering without transactions. Creating a booking is three writes:
  1. insert the Booking as `pending` (expires_at = now + pending grace), invisible to everyone;
  2. claim on the listing (one conditional update, see service.availability.claims);
  3. flip `pending` -> `requested` (or `accepted` with instant book), conditional on `pending`.
A lost claim marks the booking `failed` (nothing held) and answers 409. If the process dies
between 1 and 3, the sweeper (`sweep`) finds the stale `pending` booking after the grace period,
flips it to `failed` (conditional, so it can't race step 3) and releases whatever it may hold:
release is conditional on the booking's hold existing, so it is a no-op if step 2 never ran.

State changes are conditional updates filtered on the current status, so of two concurrent
actors exactly one wins; the loser gets 409. After a final status the follow-up (money: refund /
settlement; availability: release) runs and then `finalized` is set; every follow-up step is
idempotent and `sweep` re-runs it for bookings left unfinalized by a crash.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from documents import Booking, BookingStatus, Listing, ListingStatus, Unit, User
from documents.listing import BOOKING_HORIZON, MAX_HOURS_PER_BOOKING
from documents.values import Money, as_utc, midnight, utcnow
from service import parties
from service.availability import claims
from service.bookings.schemas import BookingIn
from service.core.config import Settings
from service.core.errors import ProblemError, conflict, forbidden, invalid, not_found
from service.core.pagination import before
from service.listings.store import get_live
from service.payments.provider import PaymentProvider
from service.payments.service import payment_statuses, settle_money
from service.pricing import breakdown, refund_percent

log = logging.getLogger(__name__)

MAX_HORIZON = BOOKING_HORIZON
MAX_HOURS = MAX_HOURS_PER_BOOKING
# Final statuses that give back what the booking claimed (completed keeps its history).
RELEASING = {
    BookingStatus.declined,
    BookingStatus.expired,
    BookingStatus.cancelled,
    BookingStatus.withdrawn,
    BookingStatus.failed,
}
FINAL = RELEASING | {BookingStatus.completed}


# --- validation ---------------------------------------------------------------------------------


def _reject_fields(body: BookingIn, names: tuple[str, ...], unit: Unit) -> None:
    for name in names:
        if getattr(body, name) is not None:
            raise invalid(name, f"does not apply to a listing booked by the {unit.value}")


def _whole_hour(value: datetime, name: str) -> datetime:
    value = as_utc(value)
    if value.minute or value.second or value.microsecond:
        raise invalid(name, "must be a whole hour (minutes and seconds zero)")
    return value


def validate(listing: Listing, body: BookingIn, now: datetime) -> dict[str, Any]:
    """The booking fields implied by `body` under the listing's rules; 422 naming the field."""
    rules = listing.rules
    notice = timedelta(hours=rules.advance_notice_hours)
    if listing.unit == Unit.night:
        _reject_fields(body, ("start", "end", "seats", "quantity"), listing.unit)
        if body.check_in is None:
            raise invalid("check_in", "required for nightly listings")
        if body.check_out is None:
            raise invalid("check_out", "required for nightly listings")
        if body.check_out <= body.check_in:
            raise invalid("check_out", "must be after check_in")
        if body.check_in < now.date():
            raise invalid("check_in", "must not be in the past")
        start, end = midnight(body.check_in), midnight(body.check_out)
        if start - now > MAX_HORIZON:
            raise invalid("check_in", "too far in the future")
        if start < now + notice:
            raise invalid("check_in", f"needs {rules.advance_notice_hours} h advance notice")
        n = (body.check_out - body.check_in).days
        if n < rules.min_nights:
            raise invalid("check_out", f"a stay is at least {rules.min_nights} nights")
        if n > rules.max_nights:
            raise invalid("check_out", f"a stay is at most {rules.max_nights} nights")
        guests = body.guests or 1
        if guests > listing.capacity:
            raise invalid("guests", f"at most {listing.capacity} guests")
        return {"start": start, "end": end, "guests": guests, "units": n}
    if listing.unit == Unit.hour:
        _reject_fields(body, ("check_in", "check_out", "guests", "quantity"), listing.unit)
        if body.start is None:
            raise invalid("start", "required for hourly listings")
        if body.end is None:
            raise invalid("end", "required for hourly listings")
        start, end = _whole_hour(body.start, "start"), _whole_hour(body.end, "end")
        if end <= start:
            raise invalid("end", "must be after start")
        if start < now:
            raise invalid("start", "must not be in the past")
        if start - now > MAX_HORIZON:
            raise invalid("start", "too far in the future")
        if start < now + notice:
            raise invalid("start", f"needs {rules.advance_notice_hours} h advance notice")
        hours = int((end - start) / claims.HOUR)
        if hours > MAX_HOURS:
            raise invalid("end", f"at most {MAX_HOURS} hours per booking")
        seats = body.seats or 1
        if seats > listing.capacity:
            raise invalid("seats", f"at most {listing.capacity} seats")
        return {"start": start, "end": end, "seats": seats, "units": hours * seats}
    _reject_fields(body, ("check_in", "check_out", "guests", "start", "end", "seats"), listing.unit)
    if body.quantity is None:
        raise invalid("quantity", "required for item listings")
    if listing.stock is not None and body.quantity > listing.stock:
        raise invalid("quantity", f"at most {listing.stock} items")
    return {"quantity": body.quantity, "units": body.quantity}


# --- creation -----------------------------------------------------------------------------------


async def create(settings: Settings, user: User, *, body: BookingIn) -> Booking:
    if not ObjectId.is_valid(body.listing_id):
        raise invalid("listing_id", "not a listing id")
    listing = await get_live(ObjectId(body.listing_id))
    if listing is None or listing.status != ListingStatus.published:
        raise not_found("listing")
    if listing.owner_id == str(user.id):
        raise forbidden("you cannot book your own listing")
    now = utcnow()
    fields = validate(listing, body, now)
    units = fields.pop("units")
    booking = Booking(
        listing_id=str(listing.id),
        guest_id=str(user.id),
        host_id=listing.owner_id,
        unit=listing.unit,
        status=BookingStatus.pending,
        price=breakdown(
            listing.price,
            units,
            commission_bps=settings.platform_commission_bps,
            guest_fee_bps=settings.guest_service_fee_bps,
            pricing=listing.pricing if listing.unit == Unit.night else None,
        ),
        cancellation_policy=listing.rules.cancellation_policy,
        category=listing.category,
        expires_at=now + timedelta(seconds=settings.booking_pending_grace_s),
        created_at=now,
        updated_at=now,
        **fields,
    )
    await booking.insert()
    if await claims.claim(listing, booking) is None:
        await _move(
            booking, {BookingStatus.pending}, BookingStatus.failed, released=True, finalized=True
        )
        raise conflict(_unavailable_detail(listing.unit))
    target = BookingStatus.accepted if listing.rules.instant_book else BookingStatus.requested
    expires = now + timedelta(seconds=settings.booking_request_ttl_s)
    moved = await _move(
        booking,
        {BookingStatus.pending},
        target,
        expires_at=expires if target == BookingStatus.requested else None,
    )
    if moved is None:
        # Only the sweeper moves a pending booking, and only after the grace period.
        await claims.release(booking)
        raise conflict("the booking took too long to confirm; retry")
    return moved


def _unavailable_detail(unit: Unit) -> str:
    return {
        Unit.night: "the nights are not available",
        Unit.hour: "not enough seats left in these hours",
        Unit.item: "not enough stock left",
    }[unit]


async def _move(
    booking: Booking, from_: set[BookingStatus], to: BookingStatus, **sets: Any
) -> Booking | None:
    """Conditional status change: applies only if the status is still one of `from_`."""
    raw = await Booking.get_motor_collection().find_one_and_update(
        {"_id": booking.id, "status": {"$in": [s.value for s in from_]}},
        {"$set": {"status": to.value, "updated_at": utcnow(), **sets}},
        return_document=ReturnDocument.AFTER,
    )
    return None if raw is None else Booking.model_validate(raw)


async def _illegal(booking_id: Any, action: str) -> ProblemError:
    current = await parties.load(booking_id)
    state = current.status.value if current else "missing"
    return conflict(f"cannot {action} a {state} booking", current_status=state)


# --- the state machine --------------------------------------------------------------------------


async def finalize(provider: PaymentProvider, booking: Booking) -> None:
    """Follow-up of a final status; idempotent, re-run by `sweep` after a crash."""
    await settle_money(provider, booking)
    if booking.status in RELEASING:
        await claims.release(booking)
    await Booking.get_motor_collection().update_one(
        {"_id": booking.id}, {"$set": {"finalized": True}}
    )


async def _expire_if_due(provider: PaymentProvider, booking: Booking, now: datetime) -> bool:
    if booking.status != BookingStatus.requested or booking.expires_at is None:
        return False
    if as_utc(booking.expires_at) > now:
        return False
    expired = await _move(booking, {BookingStatus.requested}, BookingStatus.expired)
    if expired is not None:
        await finalize(provider, expired)
    return True


async def accept(provider: PaymentProvider, user: User, *, booking_id: ObjectId) -> Booking:
    booking = await parties.as_host(booking_id, user)
    if await _expire_if_due(provider, booking, utcnow()):
        raise conflict("the request expired before it was accepted", current_status="expired")
    moved = await _move(booking, {BookingStatus.requested}, BookingStatus.accepted, expires_at=None)
    if moved is None:
        raise await _illegal(booking.id, "accept")
    return moved


async def decline(provider: PaymentProvider, user: User, *, booking_id: ObjectId) -> Booking:
    booking = await parties.as_host(booking_id, user)
    if await _expire_if_due(provider, booking, utcnow()):
        raise conflict("the request already expired", current_status="expired")
    moved = await _move(booking, {BookingStatus.requested}, BookingStatus.declined)
    if moved is None:
        raise await _illegal(booking.id, "decline")
    await finalize(provider, moved)
    return moved


async def cancel(provider: PaymentProvider, user: User, *, booking_id: ObjectId) -> Booking:
    """Either party cancels an accepted booking; the refund share is frozen on the booking.

    The guest may also take back a `requested` booking (`withdrawn`): no cancellation policy
    applies, the nights are released at once and anything already paid goes back in full (as on
    decline or expiry). The host answers a request with decline, not cancel (409)."""
    booking = await parties.visible(booking_id, user)
    now = utcnow()
    by_host = booking.host_id == str(user.id)
    if booking.status == BookingStatus.requested and not by_host:
        return await _withdraw(provider, booking, now)
    start = as_utc(booking.start) if booking.start else None
    percent = refund_percent(booking.cancellation_policy, start, now, by_host=by_host)
    # `refund` is what is actually returned: nothing until a captured payment is refunded
    # (settle_money records the amount then; an unpaid booking stays at 0).
    moved = await _move(
        booking,
        {BookingStatus.accepted},
        BookingStatus.cancelled,
        cancelled_by="host" if by_host else "guest",
        refund_percent=percent,
        refund=Money(amount=0, currency=booking.price.total.currency).model_dump(),
    )
    if moved is None:
        raise await _illegal(booking.id, "cancel")
    await finalize(provider, moved)
    return await parties.load(moved.id) or moved


async def _withdraw(provider: PaymentProvider, booking: Booking, now: datetime) -> Booking:
    if await _expire_if_due(provider, booking, now):
        raise conflict("the request already expired", current_status="expired")
    moved = await _move(
        booking,
        {BookingStatus.requested},
        BookingStatus.withdrawn,
        cancelled_by="guest",
        expires_at=None,
    )
    if moved is None:
        # The host answered first (accepted: cancel again under the policy; declined: final).
        raise await _illegal(booking.id, "withdraw")
    await finalize(provider, moved)
    return moved


async def complete(provider: PaymentProvider, user: User, *, booking_id: ObjectId) -> Booking:
    booking = await parties.as_host(booking_id, user)
    if (
        booking.status == BookingStatus.accepted
        and booking.end is not None
        and utcnow() < as_utc(booking.end)
    ):
        raise conflict("a booking can only be completed after it ended", current_status="accepted")
    moved = await _move(booking, {BookingStatus.accepted}, BookingStatus.completed)
    if moved is None:
        raise await _illegal(booking.id, "complete")
    await finalize(provider, moved)
    return moved


# --- reads ---------------------------------------------------------------------------------------


async def payment_status_of(bookings: list[Booking]) -> dict[str, str]:
    """Booking id -> the status of its current payment; bookings never paid are absent."""
    if not bookings:
        return {}
    found = await payment_statuses([str(b.id) for b in bookings])
    return {bid: status.value for bid, status in found.items()}


# --- (lists) --------------------------------------------------------------------------------------


async def list_for(
    user: User,
    *,
    role: str,
    status: BookingStatus | None,
    limit: int,
    after: tuple[datetime, ObjectId] | None,
) -> list[Booking]:
    field = "guest_id" if role == "guest" else "host_id"
    query: dict[str, Any] = {field: str(user.id), **before("created_at", after)}
    if status is not None:
        if status in parties.HIDDEN:
            return []
        query["status"] = status.value
    else:
        query["status"] = {"$nin": [s.value for s in parties.HIDDEN]}
    cursor = (
        Booking.get_motor_collection()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    return [Booking.model_validate(raw) async for raw in cursor]


# --- recovery -----------------------------------------------------------------------------------


async def sweep(provider: PaymentProvider, now: datetime | None = None) -> dict[str, int]:
    """Expire overdue requests, fail stale pending bookings (crash between insert and confirm),
    and finish the follow-up of final bookings a crash left unfinalized. Idempotent."""
    now = now or utcnow()
    col = Booking.get_motor_collection()
    counts = {"expired": 0, "failed": 0, "finalized": 0}
    due = {"status": BookingStatus.requested.value, "expires_at": {"$lte": now}}
    for raw in await col.find(due).to_list(None):
        moved = await _move(
            Booking.model_validate(raw), {BookingStatus.requested}, BookingStatus.expired
        )
        if moved is not None:
            await finalize(provider, moved)
            counts["expired"] += 1
    stale = {"status": BookingStatus.pending.value, "expires_at": {"$lte": now}}
    for raw in await col.find(stale).to_list(None):
        moved = await _move(
            Booking.model_validate(raw), {BookingStatus.pending}, BookingStatus.failed
        )
        if moved is not None:
            await finalize(provider, moved)
            counts["failed"] += 1
    # Final bookings whose follow-up did not finish; the grace keeps us off in-flight requests.
    unfinished = {
        "finalized": False,
        "status": {"$in": [s.value for s in FINAL]},
        "updated_at": {"$lte": now - timedelta(seconds=30)},
    }
    for raw in await col.find(unfinished).to_list(None):
        await finalize(provider, Booking.model_validate(raw))
        counts["finalized"] += 1
    return counts
