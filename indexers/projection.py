"""Listing -> search document, and the bulk operation that puts it (or its absence) in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from documents import Listing, Unit
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


def busy_periods(listing: Listing) -> list[tuple[datetime, datetime]]:
    """Periods in which the listing cannot take a (new) booking at all.

    Nights: every hold and block. Hours: blocks, plus each hour slot whose seats are all taken
    (a partly taken hour still has room). Items have no periods (stock is separate).
    """
    av = listing.availability
    periods = [(as_utc(b.start), as_utc(b.end)) for b in av.blocks]
    if listing.unit == Unit.night:
        periods += [
            (as_utc(h.start), as_utc(h.end))
            for h in av.holds
            if h.start is not None and h.end is not None
        ]
    elif listing.unit == Unit.hour:
        for key, taken in av.hour_seats.items():
            if taken >= listing.capacity:
                start = datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)
                periods.append((start, start + HOUR))
    return _merge(periods)


def project(listing: Listing) -> dict[str, Any]:
    """The search document of a searchable listing."""
    rs = listing.review_summary
    stock_left = listing.availability.stock_left
    suggest_inputs = [listing.title, listing.category, listing.address.city]
    return {
        F.ID: str(listing.id),
        F.TITLE: listing.title,
        F.DESCRIPTION: listing.description,
        F.CATEGORY: listing.category,
        F.AMENITIES: list(listing.amenities),
        F.ATTRIBUTES: dict(listing.attributes),
        F.ATTRIBUTE_TERMS: [f"{k}={_attr(v)}" for k, v in sorted(listing.attributes.items())],
        F.CITY: listing.address.city,
        F.COUNTRY: listing.address.country,
        F.LOCATION: {"lat": listing.location.lat, "lon": listing.location.lon},
        F.PRICE: {"amount": listing.price.amount, "currency": listing.price.currency},
        F.CAPACITY: listing.capacity,
        F.UNIT: listing.unit.value,
        F.RATING: {
            "count": rs.count,
            "average": rs.average,
            "bayesian_average": rs.bayesian(),
            "histogram": dict(rs.histogram),
        },
        F.BUSY: [{"gte": _iso(s), "lt": _iso(e)} for s, e in busy_periods(listing)],
        F.STOCK_LEFT: stock_left,
        F.IN_STOCK: listing.unit != Unit.item or (stock_left or 0) > 0,
        F.CREATED_AT: _iso(listing.created_at),
        F.UPDATED_AT: _iso(listing.updated_at),
        F.VERSION: listing.version,
        F.SUGGEST: {"input": list(dict.fromkeys(i for i in suggest_inputs if i))},
    }


def _attr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def op_for(listing: Listing) -> IndexOp:
    """The index operation that makes the index agree with this state of the listing."""
    doc = project(listing) if listing.searchable else None
    return IndexOp(str(listing.id), listing.version, doc, as_utc(listing.updated_at))


def op_for_raw(raw: dict[str, Any]) -> IndexOp:
    return op_for(Listing.model_validate(raw))


# A listing removed from Mongo outright (not soft-deleted) has no version left to order by;
# its tombstone outranks any version it could ever have had (ids are never reused).
HARD_DELETE_VERSION = 2**62


def hard_delete_op(listing_id: str) -> IndexOp:
    return IndexOp(listing_id, HARD_DELETE_VERSION, None, None)
