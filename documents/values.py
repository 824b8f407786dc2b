"""Embedded value objects shared by several documents: time, money, places, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# ISO 4217 codes we settle in, with their minor-unit exponent (JPY has none).
CURRENCY_EXPONENT: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "BRL": 2,
    "MXN": 2,
    "ZAR": 2,
    "INR": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
    "BHD": 3,
}

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9 _\-]*$",
    ),
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Mongo hands back naive datetimes on some clients; everything we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def midnight(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=UTC)


def nights(check_in: date, check_out: date) -> list[date]:
    """The nights of the half-open range [check_in, check_out)."""
    return [check_in + timedelta(days=i) for i in range((check_out - check_in).days)]


class StrictModel(BaseModel):
    """Input models reject unknown fields instead of silently dropping them."""

    model_config = ConfigDict(extra="forbid")


class Money(StrictModel):
    amount: int = Field(ge=0, le=10**12, strict=True, description="integer minor units (cents)")
    currency: Currency = Field(description="ISO 4217 code")

    @field_validator("amount", mode="before")
    @classmethod
    def _no_floats(cls, v: object) -> object:
        # 12.5 euros must never be silently truncated: money is integer minor units only.
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("amount must be an integer number of minor units")
        return v

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, v: str) -> str:
        if v not in CURRENCY_EXPONENT:
            raise ValueError(f"unsupported currency {v!r}")
        return v


class GeoPoint(BaseModel):
    """GeoJSON point as stored in Mongo (2dsphere); coordinates are [lon, lat]."""

    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]

    @property
    def lon(self) -> float:
        return self.coordinates[0]

    @property
    def lat(self) -> float:
        return self.coordinates[1]


class Location(StrictModel):
    """The API's view of a point."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)

    def to_geo(self) -> GeoPoint:
        return GeoPoint(coordinates=(self.lon, self.lat))

    @classmethod
    def from_geo(cls, p: GeoPoint) -> Location:
        return cls(lat=p.lat, lon=p.lon)


class Address(StrictModel):
    line1: ShortText
    city: ShortText
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2"
    )


class Period(BaseModel):
    """A half-open UTC interval [start, end). Nights are stored as midnights."""

    start: datetime
    end: datetime

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end
