"""Search API shapes (see shared/API.md, Discovery)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from documents import Unit
from documents.values import Location, Money


class HitReviewSummary(BaseModel):
    count: int
    average: float | None
    bayesian_average: float


class Quote(BaseModel):
    """What POST /v1/bookings charges for the searched stay (each equals the same field of the
    booking's `price`)."""

    units: int
    subtotal: Money
    discount: Money
    cleaning_fee: Money
    guest_fee: Money
    total: Money


class Stay(BaseModel):
    check_in: date
    check_out: date


class SearchHit(BaseModel):
    id: str
    title: str
    category: str
    price: Money
    location: Location
    city: str
    review_summary: HitReviewSummary
    # What an app needs to book straight from the hit (no extra listing read).
    unit: Unit
    capacity: int
    instant_book: bool
    min_nights: int
    quote: Quote | None = Field(
        default=None, description="dated and quantity searches: the price of that booking"
    )
    stay: Stay | None = Field(
        default=None, description="flexible dates: the earliest bookable stay (quoted)"
    )
    distance_km: float | None = Field(
        default=None, description="great-circle distance from lat,lon when an origin is given"
    )


class FacetValue(BaseModel):
    value: str
    count: int


class RangeBucket(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    # Integer minor units for price buckets, a rating for rating buckets.
    from_: int | float | None = Field(default=None, alias="from")
    to: int | float | None = None
    count: int


class SearchResult(BaseModel):
    hits: list[SearchHit]
    total: int
    facets: dict[str, list[FacetValue] | list[RangeBucket]] = Field(default_factory=dict)
    next_cursor: str | None = None


class Suggestion(BaseModel):
    text: str


class SuggestResult(BaseModel):
    suggestions: list[Suggestion]
