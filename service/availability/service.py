"""Reading availability per night / hour slot / stock, and replacing host blocks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bson import ObjectId

from documents import Listing, Unit, User
from documents.listing import BOOKING_HORIZON
from documents.values import Period, as_utc, midnight, utcnow
from service.availability.claims import HOUR, no_overlap
from service.availability.schemas import (
    AvailabilityOut,
    BlockIn,
    NightOut,
    NightState,
    SlotOut,
)
from service.core.errors import conflict, invalid, not_found
from service.listings import service as listings
from service.listings.store import apply_write, get_live

MAX_NIGHTS_VIEW = 366
MAX_HOURS_VIEW = 24 * 31


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return midnight(value)


def _overlaps(periods: list[Period], start: datetime, end: datetime) -> bool:
    return any(as_utc(p.start) < end and as_utc(p.end) > start for p in periods)


def view(
    listing: Listing, frm: date | datetime | None, to: date | datetime | None
) -> AvailabilityOut:
    av = listing.availability
    blocks = [Period(start=as_utc(b.start), end=as_utc(b.end)) for b in av.blocks]
    out = AvailabilityOut(
        listing_id=str(listing.id),
        unit=listing.unit,
        capacity=listing.capacity,
        blocks=blocks,
        version=listing.version,
    )
    if listing.unit == Unit.item:
        out.stock = listing.stock
        out.stock_left = av.stock_left
        return out
    holds = [
        Period(start=as_utc(h.start), end=as_utc(h.end))
        for h in av.holds
        if h.start is not None and h.end is not None
    ]
    if listing.unit == Unit.night:
        first = frm.date() if isinstance(frm, datetime) else (frm or utcnow().date())
        last = to.date() if isinstance(to, datetime) else (to or first + timedelta(days=30))
        if last <= first:
            raise invalid(["query", "to"], "must be after from")
        if (last - first).days > MAX_NIGHTS_VIEW:
            raise invalid(["query", "to"], f"at most {MAX_NIGHTS_VIEW} nights per request")
        nights: list[NightOut] = []
        rules, now = listing.rules, utcnow()
        taken = blocks + holds

        def can_start(d: date) -> bool:
            # What POST /v1/bookings accepts for the shortest stay from `d` (a longer one
            # needs these nights too, so this is exactly "some stay may start here").
            s = midnight(d)
            if rules.min_nights > rules.max_nights or s - now > BOOKING_HORIZON:
                return False
            if s < now + timedelta(hours=rules.advance_notice_hours):
                return False
            return not _overlaps(taken, s, s + timedelta(days=rules.min_nights))

        day = first
        while day < last:
            s, e = midnight(day), midnight(day + timedelta(days=1))
            state = NightState.free
            if _overlaps(blocks, s, e):
                state = NightState.blocked
            elif _overlaps(holds, s, e):
                state = NightState.booked
            nights.append(NightOut(date=day, status=state, can_start=can_start(day)))
            day += timedelta(days=1)
        out.from_, out.to, out.nights = first, last, nights
        return out
    start = _as_datetime(frm) if frm is not None else utcnow().replace(minute=0, second=0)
    start = start.replace(minute=0, second=0, microsecond=0)
    end = _as_datetime(to) if to is not None else start + timedelta(days=1)
    if end <= start:
        raise invalid(["query", "to"], "must be after from")
    if end - start > MAX_HOURS_VIEW * HOUR:
        raise invalid(["query", "to"], f"at most {MAX_HOURS_VIEW} hours per request")
    slots: list[SlotOut] = []
    t = start
    while t < end:
        taken = av.hour_seats.get(t.strftime("%Y-%m-%dT%H"), 0)
        left = max(listing.capacity - taken, 0)
        if _overlaps(blocks, t, t + HOUR):
            state, left = NightState.blocked, 0
        else:
            state = NightState.free if left > 0 else NightState.booked
        slots.append(
            SlotOut(start=t, end=t + HOUR, status=state, seats_taken=taken, seats_left=left)
        )
        t += HOUR
    out.from_, out.to, out.slots = start, end, slots
    return out


async def get_availability(
    listing_id: ObjectId, user: User | None, frm: date | datetime | None, to: date | datetime | None
) -> AvailabilityOut:
    listing = await listings.get_visible(listing_id, user)
    try:
        return view(listing, frm, to)
    except OverflowError:  # e.g. from=9999-12-31: the default window runs off the calendar
        raise invalid(["query", "from"], "date out of range") from None


def _normalise_blocks(unit: Unit, blocks: list[BlockIn]) -> list[Period]:
    if unit == Unit.item:
        raise invalid(["body"], "blocks only apply to night and hour listings")
    out: list[Period] = []
    for i, block in enumerate(blocks):
        start, end = _as_datetime(block.start), _as_datetime(block.end)
        for name, value in (("start", start), ("end", end)):
            if unit == Unit.night and (value.hour, value.minute, value.second) != (0, 0, 0):
                raise invalid([i, name], "night blocks are dates (midnight UTC)")
            if value.minute or value.second or value.microsecond:
                raise invalid([i, name], "blocks start and end on whole hours")
        if end <= start:
            raise invalid([i, "end"], "must be after start")
        out.append(Period(start=start, end=end))
    return sorted(out, key=lambda p: p.start)


async def replace_blocks(
    listing_id: ObjectId, owner: User, blocks: list[BlockIn]
) -> AvailabilityOut:
    """Replace the host's blocks in one conditional write: it applies only if no existing booking
    overlaps any new block (else 409), so a booking can't slip under a block or vice versa."""
    listing = await listings.get_owned(listing_id, owner)
    periods = _normalise_blocks(listing.unit, blocks)
    conditions: dict[str, Any] = {"owner_id": str(owner.id)}
    if periods:
        conditions["$and"] = [{"availability.holds": no_overlap(p.start, p.end)} for p in periods]
    updated = await apply_write(
        listing_id,
        {"$set": {"availability.blocks": [p.model_dump() for p in periods]}},
        conditions=conditions,
    )
    if updated is None:
        if await get_live(listing_id) is None:
            raise not_found("listing")
        raise conflict("a block would cover an existing booking")
    return view(updated, None, None)
