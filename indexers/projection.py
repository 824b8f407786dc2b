"""Listing -> search document, and the bulk operation that puts it (or its absence) in place."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from documents import BookingRules, Listing, ListingStatus, Unit
from documents.fx import base_figurer
from documents.fx import base_figures as fx_base_figures
from documents.listing import bayesian_average, charged_per_stay, review_average
from documents.values import as_utc
from indexers import fxstate
from indexers.definition import COPIED, QUOTED_NIGHTS, F

HOUR = timedelta(hours=1)
_RULES = BookingRules()  # the defaults of a stored listing without rules
_NIGHT_KEYS = tuple(f"n{n}" for n in range(1, QUOTED_NIGHTS + 1))


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
    """RFC 3339 UTC with a "Z". Stored datetimes are mostly naive UTC: those skip the
    conversion (the same text as `as_utc(value).isoformat()` with "+00:00" made "Z")."""
    if value.tzinfo is None:
        return value.isoformat() + "Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@functools.lru_cache(maxsize=8192)
def _hour_start(key: str) -> datetime:
    """The start of an hour slot keyed "YYYY-MM-DDTHH" (UTC). Cached: slot keys repeat across
    listings, and strptime cost more than the rest of a slot's projection."""
    return datetime.strptime(key, "%Y-%m-%dT%H").replace(tzinfo=UTC)


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
                start = _hour_start(key)
                periods.append((start, start + HOUR))
    return _merge(periods)


def _slots(unit: str, capacity: int, hour_seats: dict[str, int]) -> list[dict[str, Any]]:
    """Hour unit: every slot with a seat taken, and how many seats it has left."""
    if unit != Unit.hour:
        return []
    out = []
    for key, taken in sorted(hour_seats.items()):
        if taken > 0:
            out.append({"at": _iso(_hour_start(key)), "left": max(capacity - taken, 0)})
    return out


def stay_charges(unit: str, price: int, pricing: dict[str, Any] | None) -> dict[str, int]:
    """Night unit: {"n<k>": subtotal - discount + cleaning fee of a k-night stay}, k = 1..30.

    Exact because the price of a stay depends on nothing but the unit price, the number of
    nights and the pricing rules (a listing has one price for every night, whatever the date),
    and `documents.listing.charged_per_stay` is `stay_charge`, the function bookings charge, for
    every length at once. The guest fee is left
    out: it is a setting, and the total is a strictly increasing function of this figure
    (`service.pricing.guest_total`), so bounds and sorts on totals map onto it exactly.
    """
    if unit != Unit.night:
        return {}
    p = pricing or {}
    fee = (p.get("cleaning_fee") or {}).get("amount", 0)
    weekly, monthly = p.get("weekly_discount_bps", 0), p.get("monthly_discount_bps", 0)
    charges = charged_per_stay(
        price, QUOTED_NIGHTS, cleaning_fee=fee, weekly_bps=weekly, monthly_bps=monthly
    )
    return dict(zip(_NIGHT_KEYS, charges, strict=True))


def base_figures(currency: str, price: int, charges: dict[str, int]) -> dict[str, Any]:
    """The sort figures in the base currency of the table in use (see F.PRICE_BASE): nothing
    without a table or for a currency it cannot convert (such listings sort last), and then
    version 0 rather than none, so that "figures from another table" is a range query
    (service.search.query._converted_range)."""
    rates = fxstate.current()
    if rates is None or not rates.knows(currency):
        return {F.PRICE_BASE: None, F.STAY_BASE: {}, F.FX_VERSION: 0}
    return {
        F.PRICE_BASE: base_figurer(rates, currency)(price),
        F.STAY_BASE: fx_base_figures(rates, currency, charges),
        F.FX_VERSION: rates.version,
    }


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


def _default(name: str) -> Any:
    """The document's default for a field the stored listing lacks (KeyError when required)."""
    field = Listing.model_fields[name]
    if field.is_required():
        raise KeyError(name)
    return field.get_default(call_default_factory=True)


def project_stored(raw: dict[str, Any]) -> dict[str, Any]:
    """The search document of a listing as Mongo stores it: the one projection.

    Rebuilds, scans and change events read stored documents, and validating each one through
    the model costs as much as reading it, so the typed path (`project`) dumps its model to
    this shape rather than the other way round.
    """
    # Fields the index holds as the document does (lists and dicts copied, not shared).
    doc: dict[str, Any] = {}
    for name in COPIED:
        value = raw[name] if name in raw else _default(name)
        doc[name] = value.copy() if isinstance(value, (list, dict)) else value
    attributes, capacity, unit = doc[F.ATTRIBUTES], doc[F.CAPACITY], raw["unit"]
    av = raw.get("availability") or {}
    rs = raw.get("review_summary") or {}
    reviews, review_sum = rs.get("count", 0), rs.get("sum", 0)
    histogram = rs.get("histogram") or {str(i): 0 for i in range(1, 6)}
    address, price = raw["address"], raw["price"]
    lon, lat = raw["location"]["coordinates"]
    stock_left = av.get("stock_left")
    busy = _busy(
        unit,
        capacity,
        ((h.get("start"), h.get("end")) for h in av.get("holds", [])),
        ((b["start"], b["end"]) for b in av.get("blocks", [])),
        av.get("hour_seats", {}),
    )
    rules = raw.get("rules") or {}
    doc.update(
        {
            F.ID: str(raw["_id"]),
            F.ATTRIBUTE_TERMS: [f"{k}={_attr(v)}" for k, v in sorted(attributes.items())],
            F.CITY: address["city"],
            F.COUNTRY: address["country"],
            F.LOCATION: {"lat": lat, "lon": lon},
            F.PRICE: {"amount": price["amount"], "currency": price["currency"]},
            F.STAY_CHARGE: stay_charges(unit, price["amount"], doc[F.PRICING]),
            F.UNIT: str(unit),
            F.MIN_NIGHTS: rules.get("min_nights", _RULES.min_nights),
            F.MAX_NIGHTS: rules.get("max_nights", _RULES.max_nights),
            F.NOTICE_HOURS: rules.get("advance_notice_hours", _RULES.advance_notice_hours),
            F.RATING: {
                "count": reviews,
                "average": review_average(review_sum, reviews),
                "bayesian_average": bayesian_average(review_sum, reviews),
                "histogram": dict(histogram),
            },
            F.BUSY: [{"gte": _iso(s), "lt": _iso(e)} for s, e in busy],
            F.SLOTS: _slots(unit, capacity, av.get("hour_seats", {})),
            F.STOCK_LEFT: stock_left,
            F.IN_STOCK: unit != Unit.item or (stock_left or 0) > 0,
            F.CREATED_AT: _iso(raw["created_at"]),
            F.UPDATED_AT: _iso(raw["updated_at"]),
            F.VERSION: int(raw["version"]),
        }
    )
    doc.update(booking_terms(raw.get("rules") or {}))
    doc.update(base_figures(price["currency"], price["amount"], doc[F.STAY_CHARGE]))
    inputs = [doc[F.TITLE], doc[F.CATEGORY], doc[F.CITY]]
    doc[F.SUGGEST] = {"input": list(dict.fromkeys(i for i in inputs if i))}
    return doc


def stored_form(listing: Listing) -> dict[str, Any]:
    """The listing as Mongo stores it (`_id`, every field), for `project_stored`."""
    return listing.model_dump(by_alias=True)


def booking_terms(rules: dict[str, Any]) -> dict[str, Any]:
    """What a hit needs to be booked from a result list (the listing's rules, as stored)."""
    return {
        F.INSTANT_BOOK: bool(rules.get("instant_book", False)),
        F.MIN_NIGHTS: int(rules.get("min_nights", 1)),
    }


def project(listing: Listing) -> dict[str, Any]:
    """The search document of a searchable listing."""
    return project_stored(stored_form(listing))


def _attr(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def op_for(listing: Listing) -> IndexOp:
    """The index operation that makes the index agree with this state of the listing."""
    return _op_from_stored(stored_form(listing))


def _op_from_stored(raw: dict[str, Any]) -> IndexOp:
    lid = str(raw["_id"])
    updated_at = as_utc(raw["updated_at"])
    version = int(raw["version"])
    if raw["status"] != ListingStatus.published or raw.get("deleted_at") is not None:
        return IndexOp(lid, version, None, updated_at)
    return IndexOp(lid, version, project_stored(raw), updated_at)


def op_for_raw(raw: dict[str, Any]) -> IndexOp:
    """From a document as stored in Mongo (change events, scans, snapshots)."""
    try:
        return _op_from_stored(raw)
    except (AttributeError, KeyError, TypeError, ValueError):
        # Not in the shape we expect: let the model say precisely what is wrong (or cope).
        return op_for(Listing.model_validate(raw))


# A listing removed from Mongo outright (not soft-deleted) has no version left to order by;
# its tombstone outranks any version it could ever have had (ids are never reused).
HARD_DELETE_VERSION = 2**62


def hard_delete_op(listing_id: str) -> IndexOp:
    return IndexOp(listing_id, HARD_DELETE_VERSION, None, None)
