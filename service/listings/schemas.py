"""Listings API shapes."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, model_validator

from documents import BookingRules, Listing, ListingStatus, Pricing, Unit
from documents.listing import AttributeKey, AttributeValue
from documents.values import Address, LongText, Money, Period, StrictModel, Tag
from documents.values import Location as Location

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=140)]
# Integers are stored as BSON int64: a larger one failed in the driver (a 500 and a dropped
# connection). Floats must be finite (JSON has no infinity to send them back in).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _attribute_value(value: object) -> object:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError("integers must fit in 64 bits (-2^63 .. 2^63-1)")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return value
    raise ValueError("must be a string, a number or a boolean")


AttrValue = Annotated[
    Annotated[str, StringConstraints(max_length=200)] | int | float | bool,
    BeforeValidator(_attribute_value),
]
Attributes = Annotated[dict[AttributeKey, AttrValue], Field(max_length=50)]
Amenities = Annotated[list[Tag], Field(max_length=50)]


class BookingRulesIn(StrictModel, BookingRules):
    @model_validator(mode="after")
    def _range(self) -> BookingRulesIn:
        if self.max_nights < self.min_nights:
            raise ValueError("max_nights must be >= min_nights")
        return self


class PricingIn(StrictModel, Pricing):
    """Stay pricing of a night listing: cleaning fee once per stay, weekly (7+ nights) and
    monthly (28+ nights) discounts in basis points of the subtotal."""


def check_pricing(unit: Unit, price: Money, pricing: Pricing | None) -> str | None:
    """Why `pricing` cannot go with this unit and price (None when it can)."""
    if pricing is None:
        return None
    if unit != Unit.night:
        return "pricing applies to night listings only"
    fee = pricing.cleaning_fee
    if fee is not None and fee.currency != price.currency:
        return "cleaning_fee must be in the listing's currency"
    return None


class ListingIn(StrictModel):
    title: Title
    description: LongText = ""
    category: Tag
    amenities: Amenities = Field(default_factory=list)
    attributes: Attributes = Field(default_factory=dict)
    location: Location
    address: Address
    price: Money
    unit: Unit
    capacity: int = Field(default=1, ge=1, le=10_000, strict=True)
    stock: int | None = Field(default=None, ge=0, le=1_000_000, strict=True)
    rules: BookingRulesIn = Field(default_factory=BookingRulesIn)
    pricing: PricingIn | None = None

    @model_validator(mode="after")
    def _pricing_fits(self) -> ListingIn:
        why = check_pricing(self.unit, self.price, self.pricing)
        if why:
            raise ValueError(why)
        return self

    @model_validator(mode="after")
    def _stock_for_items(self) -> ListingIn:
        if self.unit == Unit.item and self.stock is None:
            raise ValueError("stock is required when unit is item")
        if self.unit != Unit.item and self.stock is not None:
            raise ValueError("stock only applies when unit is item")
        return self


class ListingPatch(StrictModel):
    """Every field optional; `unit` is fixed once created (bookings depend on it)."""

    title: Title | None = None
    description: LongText | None = None
    category: Tag | None = None
    amenities: Amenities | None = None
    attributes: Attributes | None = None
    location: Location | None = None
    address: Address | None = None
    price: Money | None = None
    capacity: int | None = Field(default=None, ge=1, le=10_000, strict=True)
    stock: int | None = Field(default=None, ge=0, le=1_000_000, strict=True)
    rules: BookingRulesIn | None = None
    pricing: PricingIn | None = None


class AvailabilitySummary(BaseModel):
    unit: Unit
    booked: list[Period] = Field(default_factory=list)
    blocked: list[Period] = Field(default_factory=list)
    # Hour unit: seats taken per booked hour ("YYYY-MM-DDTHH" UTC).
    hour_seats: dict[str, int] = Field(default_factory=dict)
    stock_left: int | None = None


class ReviewSummaryOut(BaseModel):
    count: int
    average: float | None
    bayesian_average: float
    histogram: dict[str, int]


class ListingOut(BaseModel):
    id: str
    owner_id: str
    title: str
    description: str
    category: str
    amenities: list[str]
    attributes: dict[str, AttributeValue]
    location: Location
    address: Address
    price: Money
    unit: Unit
    capacity: int
    stock: int | None
    rules: BookingRules
    pricing: Pricing | None = None
    status: ListingStatus
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    availability: AvailabilitySummary
    review_summary: ReviewSummaryOut

    @classmethod
    def of(cls, doc: Listing) -> ListingOut:
        av = doc.availability
        booked = [
            Period(start=h.start, end=h.end)
            for h in av.holds
            if h.start is not None and h.end is not None
        ]
        rs = doc.review_summary
        return cls(
            id=str(doc.id),
            owner_id=doc.owner_id,
            title=doc.title,
            description=doc.description,
            category=doc.category,
            amenities=doc.amenities,
            attributes=doc.attributes,
            location=Location.from_geo(doc.location),
            address=doc.address,
            price=doc.price,
            unit=doc.unit,
            capacity=doc.capacity,
            stock=doc.stock,
            rules=doc.rules,
            pricing=doc.pricing,
            status=doc.status,
            version=doc.version,
            created_at=doc.created_at,
            updated_at=doc.updated_at,
            published_at=doc.published_at,
            availability=AvailabilitySummary(
                unit=doc.unit,
                booked=sorted(booked, key=lambda p: p.start),
                blocked=av.blocks,
                hour_seats=av.hour_seats,
                stock_left=av.stock_left,
            ),
            review_summary=ReviewSummaryOut(
                count=rs.count,
                average=rs.average,
                bayesian_average=rs.bayesian(),
                histogram=rs.histogram,
            ),
        )
