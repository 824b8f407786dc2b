"""Listing -> search document, and the bulk operation that puts it (or its absence) in place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from documents import Listing, ReviewSummary, Unit
from documents.values import as_utc
from indexers.definition import F

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class IndexOp:
    """What the index should hold for one listing at one version: a document, or nothing."""

    listing_id: str
    version: int
    doc: dict[str, Any] | None  # None: delete (unpublished, closed, deleted)
    updated_at: datetime | None = None

    @property
    def is_delete(self) -> bool:
        return self.doc is None


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _merge(periods: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, coalesced half-open intervals (adjacent hours become one range)."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(periods):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _busy(
    unit: str,
    capacity: int,
    holds: Iterable[tuple[datetime | None, datetime | None]],
    blocks: Iterable[tuple[datetime, datetime]],
    hour_seats: dict[str, int],
) -> list[tuple[datetime, datetime]]:
    periods = [(as_utc(s), as_utc(e)) for s, e in blocks]
    if unit == Unit.night:
        periods += [(as_utc(s), as_utc(e)) for s, e in holds if s is not None and e is not None]
    elif unit == Unit.hour:
        for key, taken in hour_seats.items():
            if taken >= capacity:
                start = datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)
                periods.append((start, start + HOUR))
    return _merge(periods)


def busy_periods(listing: Listing) -> list[tuple[datetime, datetime]]:
    """Periods in which the listing cannot take a (new) booking at all.

    Nights: every hold and block. Hours: blocks, plus each hour slot whose seats are all taken
    (a partly taken hour still has room). Items have no periods (stock is separate).
    """
    av = listing.availability
    return _busy(
        listing.unit,
        listing.capacity,
        ((h.start, h.end) for h in av.holds),
        ((b.start, b.end) for b in av.blocks),
        av.hour_seats,
    )


def _doc(
    *,
    lid: str,
    title: str,
    description: str,
    category: str,
    amenities: list[str],
    attributes: dict[str, Any],
    city: str,
    country: str,
    lon: float,
    lat: float,
    amount: int,
    currency: str,
    capacity: int,
    unit: str,
    rs: ReviewSummary,
    busy: list[tuple[datetime, datetime]],
    stock_left: int | None,
    created_at: datetime,
    updated_at: datetime,
    version: int,
) -> dict[str, Any]:
    suggest_inputs = [title, category, city]
    return {
        F.ID: lid,
        F.TITLE: title,
        F.DESCRIPTION: description,
        F.CATEGORY: category,
        F.AMENITIES: list(amenities),
        F.ATTRIBUTES: dict(attributes),
        F.ATTRIBUTE_TERMS: [f"{k}={_attr(v)}" for k, v in sorted(attributes.items())],
        F.CITY: city,
        F.COUNTRY: country,
        F.LOCATION: {"lat": lat, "lon": lon},
        F.PRICE: {"amount": amount, "currency": currency},
        F.CAPACITY: capacity,
        F.UNIT: str(unit),
        F.RATING: {
            "count": rs.count,
            "average": rs.average,
            "bayesian_average": rs.bayesian(),
            "histogram": dict(rs.histogram),
        },
        F.BUSY: [{"gte": _iso(s), "lt": _iso(e)} for s, e in busy],
        F.STOCK_LEFT: stock_left,
        F.IN_STOCK: unit != Unit.item or (stock_left or 0) > 0,
        F.CREATED_AT: _iso(created_at),
        F.UPDATED_AT: _iso(updated_at),
        F.VERSION: version,
        F.SUGGEST: {"input": list(dict.fromkeys(i for i in suggest_inputs if i))},
    }


def booking_terms(rules: dict[str, Any]) -> dict[str, Any]:
    """What a hit needs to be booked from a result list (the listing's rules, as stored)."""
    return {
        F.INSTANT_BOOK: bool(rules.get("instant_book", False)),
        F.MIN_NIGHTS: int(rules.get("min_nights", 1)),
    }


def project(listing: Listing) -> dict[str, Any]:
    """The search document of a searchable listing."""
    return booking_terms(listing.rules.model_dump()) | _doc(
        lid=str(listing.id),
        title=listing.title,
        description=listing.description,
        category=listing.category,
        amenities=listing.amenities,
        attributes=listing.attributes,
        city=listing.address.city,
        country=listing.address.country,
        lon=listing.location.lon,
        lat=listing.location.lat,
        amount=listing.price.amount,
        currency=listing.price.currency,
        capacity=listing.capacity,
        unit=listing.unit.value,
        rs=listing.review_summary,
        busy=busy_periods(listing),
        stock_left=listing.availability.stock_left,
        created_at=listing.created_at,
        updated_at=listing.updated_at,
        version=listing.version,
    )


def _attr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def op_for(listing: Listing) -> IndexOp:
    """The index operation that makes the index agree with this state of the listing."""
    doc = project(listing) if listing.searchable else None
    return IndexOp(str(listing.id), listing.version, doc, as_utc(listing.updated_at))


def _op_from_stored(raw: dict[str, Any]) -> IndexOp:
    """The same projection read straight off the stored document: validating every listing
    through the model costs as much as reading it, and rebuilds read them all."""
    lid = str(raw["_id"])
    updated_at = as_utc(raw["updated_at"])
    version = int(raw["version"])
    if raw["status"] != "published" or raw.get("deleted_at") is not None:
        return IndexOp(lid, version, None, updated_at)
    av = raw.get("availability") or {}
    unit = raw["unit"]
    capacity = raw.get("capacity", 1)
    rs = raw.get("review_summary") or {}
    address, price = raw["address"], raw["price"]
    lon, lat = raw["location"]["coordinates"]
    doc = _doc(
        lid=lid,
        title=raw["title"],
        description=raw.get("description", ""),
        category=raw["category"],
        amenities=raw.get("amenities", []),
        attributes=raw.get("attributes", {}),
        city=address["city"],
        country=address["country"],
        lon=lon,
        lat=lat,
        amount=price["amount"],
        currency=price["currency"],
        capacity=capacity,
        unit=unit,
        rs=ReviewSummary.model_construct(
            count=rs.get("count", 0),
            sum=rs.get("sum", 0),
            histogram=rs.get("histogram") or {str(i): 0 for i in range(1, 6)},
        ),
        busy=_busy(
            unit,
            capacity,
            ((h.get("start"), h.get("end")) for h in av.get("holds", [])),
            ((b["start"], b["end"]) for b in av.get("blocks", [])),
            av.get("hour_seats", {}),
        ),
        stock_left=av.get("stock_left"),
        created_at=raw["created_at"],
        updated_at=updated_at,
        version=version,
    )
    doc.update(booking_terms(raw.get("rules") or {}))
    return IndexOp(lid, version, doc, updated_at)


def op_for_raw(raw: dict[str, Any]) -> IndexOp:
    """From a document as stored in Mongo (change events, scans, snapshots)."""
    try:
        return _op_from_stored(raw)
    except (KeyError, TypeError, ValueError):
        # Not in the shape we expect: let the model say precisely what is wrong (or cope).
        return op_for(Listing.model_validate(raw))


# A listing removed from Mongo outright (not soft-deleted) has no version left to order by;
# its tombstone outranks any version it could ever have had (ids are never reused).
HARD_DELETE_VERSION = 2**62


def hard_delete_op(listing_id: str) -> IndexOp:
    return IndexOp(listing_id, HARD_DELETE_VERSION, None, None)
