"""The listing: one document that carries its availability and review summary (the hot read)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import Annotated, Any

import pymongo
from beanie import Document
from pydantic import BaseModel, Field, StringConstraints

from documents.values import Address, GeoPoint, Money, Period, utcnow

AttributeValue = str | int | float | bool
AttributeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class ListingStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"


class Unit(StrEnum):
    night = "night"
    hour = "hour"
    item = "item"


class CancellationPolicy(StrEnum):
    flexible = "flexible"  # full refund until 24 h before start
    moderate = "moderate"  # full refund until 5 days before, 50 % after
    strict = "strict"  # 50 % refund until 7 days before, nothing after


# Limits every booking obeys whatever the listing's rules (bookings validate them and search
# only shows what they accept, so both read them from here).
BOOKING_HORIZON = timedelta(days=730)  # the latest start of a booking, from now
MAX_HOURS_PER_BOOKING = 24 * 7  # hour slots in one booking


class BookingRules(BaseModel):
    # strict: "4" or 4.0 is not an integer (it is refused, never coerced).
    min_nights: int = Field(default=1, ge=1, le=365, strict=True)
    max_nights: int = Field(default=365, ge=1, le=365, strict=True)
    advance_notice_hours: int = Field(default=0, ge=0, le=24 * 365, strict=True)
    instant_book: bool = False
    cancellation_policy: CancellationPolicy = CancellationPolicy.moderate


class Pricing(BaseModel):
    """How a stay's price departs from unit price x nights (night listings only)."""

    cleaning_fee: Money | None = Field(default=None, description="charged once per stay")
    weekly_discount_bps: int = Field(
        default=0, ge=0, le=10_000, strict=True, description="off the subtotal of 7+ nights"
    )
    monthly_discount_bps: int = Field(
        default=0, ge=0, le=10_000, strict=True, description="off the subtotal of 28+ nights"
    )


WEEK_NIGHTS = 7
MONTH_NIGHTS = 28


def discount_bps(nights: int, weekly_bps: int, monthly_bps: int) -> int:
    """The discount a stay of `nights` gets: the monthly one from 28 nights when the listing has
    one, else the weekly one from 7 nights, else none."""
    if nights >= MONTH_NIGHTS and monthly_bps:
        return monthly_bps
    if nights >= WEEK_NIGHTS:
        return weekly_bps
    return 0


def stay_charge(
    unit_amount: int, units: int, *, cleaning_fee: int, weekly_bps: int, monthly_bps: int
) -> tuple[int, int, int]:
    """(subtotal, discount, cleaning_fee) of `units` nights in minor units: THE stay rule.

    The discount is a basis-point share of the subtotal rounded half up once (the rounding rule
    of `service.pricing`); everything else is integer products and sums. It depends only on the
    unit price, the number of nights and the listing's pricing (a listing has one price for
    every night), so the indexer can materialise it per stay length and bookings charge the
    very same figures (`service.pricing.breakdown` calls this).
    """
    subtotal = unit_amount * units
    bps = discount_bps(units, weekly_bps, monthly_bps)
    discount = (subtotal * bps + 5000) // 10000
    return subtotal, discount, cleaning_fee


def charged_per_stay(
    unit_amount: int, max_units: int, *, cleaning_fee: int, weekly_bps: int, monthly_bps: int
) -> list[int]:
    """`subtotal - discount + cleaning_fee` of `stay_charge` for 1..max_units nights, in order:
    the same arithmetic inlined, because the indexer materialises 30 of these per listing and
    the calls were a tenth of its projection time (tests hold it equal to `stay_charge`)."""
    out = []
    for units in range(1, max_units + 1):
        subtotal = unit_amount * units
        if units >= MONTH_NIGHTS and monthly_bps:
            bps = monthly_bps
        elif units >= WEEK_NIGHTS:
            bps = weekly_bps
        else:
            bps = 0
        out.append(subtotal - (subtotal * bps + 5000) // 10000 + cleaning_fee)
    return out


class Hold(BaseModel):
    """What one booking claimed on this listing; removing it is the release."""

    booking_id: str
    start: datetime | None = None
    end: datetime | None = None
    seats: int = 0
    quantity: int = 0


class Availability(BaseModel):
    # Night and hour bookings: claimed periods. A claim is a conditional update whose filter
    # asserts no hold/block overlaps (nights) or that every hour keeps a free seat (hours).
    holds: list[Hold] = Field(default_factory=list)
    blocks: list[Period] = Field(default_factory=list)
    # Hour unit: seats taken per hour slot, keyed "YYYY-MM-DDTHH" (UTC).
    hour_seats: dict[str, int] = Field(default_factory=dict)
    # Item unit: stock not yet claimed.
    stock_left: int | None = None


class ReviewSummary(BaseModel):
    """Maintained with $inc together with each review insert, so it never drifts."""

    count: int = 0
    sum: int = 0
    histogram: dict[str, int] = Field(default_factory=lambda: {str(i): 0 for i in range(1, 6)})

    @property
    def average(self) -> float | None:
        return review_average(self.sum, self.count)

    def bayesian(self, prior_mean: float = 4.0, prior_weight: int = 5) -> float:
        """Ranking score that does not let one 5-star review beat a hundred 4.8s."""
        return bayesian_average(self.sum, self.count, prior_mean, prior_weight)


def review_average(total: int, count: int) -> float | None:
    """`ReviewSummary.average` of stored figures (the indexer reads them without a model)."""
    return round(total / count, 2) if count else None


def bayesian_average(
    total: int, count: int, prior_mean: float = 4.0, prior_weight: int = 5
) -> float:
    """`ReviewSummary.bayesian` of stored figures."""
    return round((prior_mean * prior_weight + total) / (prior_weight + count), 4)


class Listing(Document):
    owner_id: str
    title: str
    description: str = ""
    category: str
    amenities: list[str] = Field(default_factory=list)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    location: GeoPoint
    address: Address
    price: Money
    unit: Unit
    capacity: int = 1
    stock: int | None = None
    rules: BookingRules = Field(default_factory=BookingRules)
    pricing: Pricing | None = None
    availability: Availability = Field(default_factory=Availability)
    review_summary: ReviewSummary = Field(default_factory=ReviewSummary)
    status: ListingStatus = ListingStatus.draft
    # +1 on every write (see service.listings.store.apply_write); orders index events.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def searchable(self) -> bool:
        return self.status == ListingStatus.published and self.deleted_at is None

    class Settings:
        name = "listings"
        use_state_management = False
        validate_on_save = True
        indexes = [
            pymongo.IndexModel(
                [("owner_id", 1), ("created_at", -1), ("_id", -1)], name="owner_recent"
            ),
            # The polling indexer scans by (updated_at, _id).
            pymongo.IndexModel([("updated_at", 1), ("_id", 1)], name="updated_at_id"),
            pymongo.IndexModel([("status", 1), ("deleted_at", 1)], name="status_deleted"),
            pymongo.IndexModel([("location", pymongo.GEOSPHERE)], name="location_2dsphere"),
        ]


# -- the stored form ----------------------------------------------------------------------------

_NOT_STORED = ("id", "revision_id")  # `id` is stored as `_id`; revisions are off
STORED_FIELDS: tuple[str, ...] = tuple(n for n in Listing.model_fields if n not in _NOT_STORED)
_STORED_SET = frozenset(STORED_FIELDS)


def _plain(value: Any) -> Any:
    """A default as Mongo stores it: models as dicts, enums as their values."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _stored_default(name: str) -> Any:
    field = Listing.model_fields[name]
    if field.is_required():
        raise TypeError(f"stored_listing: missing required field {name!r}")
    return _plain(field.get_default(call_default_factory=True))


def stored_listing(_id: Any, **fields: Any) -> dict[str, Any]:
    """A listing in the raw form Mongo stores: `_id`, then every field in declaration order,
    the document's defaults for fields not given. For bulk writers that cannot afford to
    validate each document (they validate a sample); values must already be in stored form."""
    unknown = fields.keys() - _STORED_SET
    if unknown:
        raise TypeError(f"stored_listing: not Listing fields: {sorted(unknown)}")
    doc: dict[str, Any] = {"_id": _id}
    for name in STORED_FIELDS:
        doc[name] = fields[name] if name in fields else _stored_default(name)
    return doc
