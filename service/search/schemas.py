"""Search API shapes (see docs/api.md, Discovery)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from documents import Unit
from documents.values import Location, Money
from service.search import query as sq

Term = Annotated[str, StringConstraints(max_length=64)]
Terms = Annotated[list[Term], Field(max_length=20)]


class SearchFilters(BaseModel):
    """Every parameter of a listings search except the page (`limit`, `cursor`): the query
    string of `GET /v1/search/listings` and `/v1/search/map`, and the `params` of a saved
    search. One model, so all three validate exactly alike."""

    q: str | None = Field(default=None, max_length=200, description="keywords")
    category: Terms = []
    amenities: Terms = Field(default=[], description="all must match")
    city: Terms = []
    price_min: int | None = Field(default=None, ge=0, le=10**12, description="minor units")
    price_max: int | None = Field(default=None, ge=0, le=10**12, description="minor units")
    rating_min: float | None = Field(default=None, ge=0, le=5)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_km: float | None = Field(default=None, gt=0, le=20_000)
    bbox: str | None = Field(
        default=None, max_length=100, description="min_lon,min_lat,max_lon,max_lat"
    )
    check_in: date | None = Field(default=None, description="first night (YYYY-MM-DD)")
    check_out: date | None = Field(default=None, description="day of departure")
    start: datetime | None = Field(default=None, description="hour slots from (UTC)")
    end: datetime | None = Field(default=None, description="hour slots until (UTC)")
    guests: int | None = Field(
        default=None, ge=1, le=10_000, description="guests (nights) or seats (hour slots)"
    )
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="items to order: item listings with that stock",
    )
    unit: list[Unit] = Field(
        default=[], max_length=3, description="night, hour or item (repeatable)"
    )
    nights: int | None = Field(
        default=None, ge=1, le=365, description="flexible dates: stay length in nights"
    )
    from_: date | None = Field(
        default=None, alias="from", description="flexible dates: earliest check-in"
    )
    to: date | None = Field(default=None, description="flexible dates: latest check-in")
    sort: sq.Sort = "relevance"
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the rate table: price bounds, price sorts, the price "
        "facet and each hit's display_price/display_quote are in it",
    )
    facets: str | None = Field(
        default=None, max_length=100, description="comma list of " + ",".join(sq.FACETS)
    )

    def to_params(self) -> sq.SearchParams:
        """The typed search; 422 naming the parameter for what the field types cannot say."""
        params = sq.SearchParams(
            q=self.q.strip() or None if self.q else None,
            category=self.category,
            amenities=self.amenities,
            city=self.city,
            price_min=self.price_min,
            price_max=self.price_max,
            rating_min=self.rating_min,
            lat=self.lat,
            lon=self.lon,
            radius_km=self.radius_km,
            bbox=sq.parse_bbox(self.bbox) if self.bbox else None,
            check_in=self.check_in,
            check_out=self.check_out,
            start=self.start,
            end=self.end,
            guests=self.guests,
            quantity=self.quantity,
            unit=[u.value for u in dict.fromkeys(self.unit)],
            nights=self.nights,
            from_=self.from_,
            to=self.to,
            sort=self.sort,
            facets=sq.parse_facets(self.facets),
            currency=self.currency,
        )
        sq.validate(params)
        return params


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


class DisplayMoney(BaseModel):
    """An amount converted to the search's `currency` (integer minor units of it)."""

    amount: int
    currency: str


class DisplayQuote(BaseModel):
    """The quote's figures, each converted on its own (`total` is the converted total)."""

    units: int
    subtotal: DisplayMoney
    discount: DisplayMoney
    cleaning_fee: DisplayMoney
    guest_fee: DisplayMoney
    total: DisplayMoney


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
    display_price: DisplayMoney | None = Field(
        default=None, description="with `currency`: the unit price converted to it"
    )
    display_quote: DisplayQuote | None = Field(
        default=None, description="with `currency` and a quote: the quote converted to it"
    )
    fx_version: int | None = Field(
        default=None, description="with `currency`: the rate table version of display_*"
    )
    stay: Stay | None = Field(
        default=None, description="flexible dates: the earliest bookable stay (quoted)"
    )
    distance_km: float | None = Field(
        default=None, description="great-circle distance from lat,lon when an origin is given"
    )
    saved: bool | None = Field(
        default=None, description="on the caller's wishlist (present for a signed-in caller)"
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
    facets_currency: str | None = Field(
        default=None,
        description="the currency of the price facet's bounds (minor units): `currency` when "
        "given; without it, the catalogue's one currency, or the exchange-rate table's base "
        "when listings are priced in several (their prices are converted into it, never "
        "counted together unconverted); null without a price facet",
    )
    facets_estimated: list[str] = Field(
        default_factory=list,
        description="the facets whose counts are estimates from a sample (each counted more "
        "than 10,000 listings); every other facet's counts are exact",
    )
    next_cursor: str | None = None


class Suggestion(BaseModel):
    text: str


class SuggestResult(BaseModel):
    suggestions: list[Suggestion]


class Cluster(BaseModel):
    lat: float = Field(description="centroid of the listings in the tile")
    lon: float
    count: int
    # A list of exactly four, not a tuple: generated clients and linters want `items`.
    bbox: list[float] = Field(
        min_length=4, max_length=4, description="the tile: min_lon, min_lat, max_lon, max_lat"
    )
    listing_ids: list[str] = Field(
        description="the top-ranked ids (at most 3) when count <= 3, else empty"
    )


class MapResult(BaseModel):
    clusters: list[Cluster]
    total: int


class SimilarResult(BaseModel):
    hits: list[SearchHit]
