"""The right answers, computed in plain Python from the seeded listings (not via the index)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from documents import Listing, Unit
from documents.values import utcnow
from service.availability.claims import hour_keys
from service.bookings.schemas import BookingIn
from service.bookings.service import validate
from service.core.config import Settings
from service.core.errors import ProblemError
from service.pricing import breakdown

FEE_BPS = Settings.model_fields["guest_service_fee_bps"].default
COMMISSION_BPS = Settings.model_fields["platform_commission_bps"].default

R_KM = 6371.0087714


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * R_KM * math.asin(math.sqrt(a))


def _utc(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


def taken(listing: Listing) -> list[tuple[datetime, datetime]]:
    av = listing.availability
    periods = [(_utc(b.start), _utc(b.end)) for b in av.blocks]
    if listing.unit == Unit.night:
        periods += [(_utc(h.start), _utc(h.end)) for h in av.holds if h.start and h.end]
    if listing.unit == Unit.hour:
        for key, seats in av.hour_seats.items():
            if seats >= listing.capacity:
                s = datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)
                periods.append((s, s + timedelta(hours=1)))
    return periods


def free(listing: Listing, start: datetime, end: datetime) -> bool:
    return not any(s < end and start < e for s, e in taken(listing))


def booking_of(listing: Listing, p: dict[str, Any]) -> BookingIn | None:
    """The booking a dated (or quantity) search describes for this listing; None without."""
    lid = str(listing.id)
    if "check_in" in p:
        return BookingIn(
            listing_id=lid,
            check_in=date.fromisoformat(p["check_in"]),
            check_out=date.fromisoformat(p["check_out"]),
            guests=p.get("guests"),
        )
    if "start" in p:
        return BookingIn(
            listing_id=lid,
            start=datetime.fromisoformat(p["start"].replace("Z", "+00:00")),
            end=datetime.fromisoformat(p["end"].replace("Z", "+00:00")),
            seats=p.get("guests"),
        )
    if "quantity" in p:
        return BookingIn(listing_id=lid, quantity=p["quantity"])
    return None


def claimable(listing: Listing, fields: dict[str, Any]) -> bool:
    """Whether `service.availability.claims.claim_write`'s filter holds on the stored listing."""
    av = listing.availability
    if listing.unit == Unit.item:
        return (av.stock_left or 0) >= fields["quantity"]
    start, end = fields["start"], fields["end"]
    if any(_utc(b.start) < end and start < _utc(b.end) for b in av.blocks):
        return False
    if listing.unit == Unit.night:
        return not any(
            _utc(h.start) < end and start < _utc(h.end) for h in av.holds if h.start and h.end
        )
    most = listing.capacity - fields["seats"]
    return all(av.hour_seats.get(k, 0) <= most for k in hour_keys(start, end))


def bookable(listing: Listing, p: dict[str, Any], now: datetime | None = None) -> bool:
    """`POST /v1/bookings` for the search's dates would pass validation and win the claim:
    the booking service's own validation, then the claim's condition, on the stored listing."""
    body = booking_of(listing, p)
    assert body is not None
    if listing.unit != ("night" if body.check_in else "hour" if body.start else "item"):
        return False
    try:
        fields = validate(listing, body, now or utcnow())
    except ProblemError:
        return False
    return claimable(listing, fields)


def flexible_stay(listing: Listing, p: dict[str, Any]) -> tuple[str, str] | None:
    """The earliest (check_in, check_out) of `nights` nights starting in [from, to] that
    POST /v1/bookings would accept, by the same oracle as fixed dates."""
    first, last = date.fromisoformat(p["from"]), date.fromisoformat(p["to"])
    day = first
    while day <= last:
        stay = {
            "check_in": day.isoformat(),
            "check_out": (day + timedelta(p["nights"])).isoformat(),
        }
        if "guests" in p:
            stay["guests"] = p["guests"]
        if bookable(listing, stay):
            return stay["check_in"], stay["check_out"]
        day += timedelta(days=1)
    return None


def units_of(p: dict[str, Any]) -> int | None:
    """The units a booking of the searched stay is charged for."""
    if "nights" in p:
        return int(p["nights"])
    if "check_in" in p:
        return (date.fromisoformat(p["check_out"]) - date.fromisoformat(p["check_in"])).days
    if "start" in p:
        start = datetime.fromisoformat(p["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(p["end"].replace("Z", "+00:00"))
        return int((end - start) / timedelta(hours=1)) * (p.get("guests") or 1)
    return p.get("quantity")


def total_of(listing: Listing, p: dict[str, Any]) -> int:
    """What the search's price parameters act on: the booking's total when dated (the price
    POST /v1/bookings charges), else the unit price."""
    units = units_of(p)
    if units is None:
        return listing.price.amount
    price = breakdown(
        listing.price,
        units,
        commission_bps=COMMISSION_BPS,
        guest_fee_bps=FEE_BPS,
        pricing=listing.pricing if listing.unit == Unit.night else None,
    )
    return price.total.amount


def searchable(listing: Listing) -> bool:
    if listing.status != "published" or listing.deleted_at is not None:
        return False
    return listing.unit != Unit.item or (listing.availability.stock_left or 0) > 0


def matches(listing: Listing, p: dict[str, Any], skip: str | None = None) -> bool:
    """Every filter in `p` except the facet named `skip` (multi-select counts)."""
    if not searchable(listing):
        return False
    cats = p.get("category")
    if cats and skip != "category" and listing.category not in cats:
        return False
    ams = p.get("amenities")
    if ams and skip != "amenities" and not set(ams) <= set(listing.amenities):
        return False
    cities = p.get("city")
    if cities and skip != "city" and listing.address.city not in cities:
        return False
    if skip != "price":
        if "price_min" in p and total_of(listing, p) < p["price_min"]:
            return False
        if "price_max" in p and total_of(listing, p) > p["price_max"]:
            return False
    if "rating_min" in p and skip != "rating":
        avg = listing.review_summary.average
        if avg is None or avg < p["rating_min"]:
            return False
    if "guests" in p and listing.capacity < p["guests"]:
        return False
    if p.get("unit") and listing.unit not in p["unit"]:
        return False
    if "radius_km" in p:
        d = haversine(p["lat"], p["lon"], listing.location.lat, listing.location.lon)
        if d > p["radius_km"]:
            return False
    if "bbox" in p:
        min_lon, min_lat, max_lon, max_lat = p["bbox"]
        if not (
            min_lon <= listing.location.lon <= max_lon
            and min_lat <= listing.location.lat <= max_lat
        ):
            return False
    if "nights" in p:
        return flexible_stay(listing, p) is not None
    dated = any(k in p for k in ("check_in", "start", "quantity"))
    return not dated or bookable(listing, p)


def sort_key(p: dict[str, Any]) -> Any:
    sort = p.get("sort", "relevance")
    if sort == "price_asc":
        return lambda x: (total_of(x, p), str(x.id))
    if sort == "price_desc":
        return lambda x: (-total_of(x, p), str(x.id))
    if sort == "distance":
        return lambda x: (haversine(p["lat"], p["lon"], x.location.lat, x.location.lon), str(x.id))
    if sort == "rating":
        return lambda x: (-x.review_summary.bayesian(), -x.review_summary.count, str(x.id))
    # newest, and relevance without keywords (every score is equal)
    return lambda x: (-x.created_at.timestamp(), str(x.id))


def expected(listings: list[Listing], p: dict[str, Any]) -> list[Listing]:
    return sorted((x for x in listings if matches(x, p)), key=sort_key(p))


def as_query(p: dict[str, Any]) -> dict[str, Any]:
    q = dict(p)
    if "bbox" in q:
        q["bbox"] = ",".join(str(v) for v in q["bbox"])
    return q
