"""Availability API shapes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from documents import Unit
from documents.values import Period, StrictModel


class NightState(StrEnum):
    free = "free"
    booked = "booked"
    blocked = "blocked"


class NightOut(BaseModel):
    date: date
    status: NightState
    can_start: bool = Field(
        default=False,
        description="a stay may check in this night under the listing's rules (min_nights "
        "free nights from here, advance notice, booking horizon)",
    )


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    status: NightState  # free (seats left), booked (no seat left), blocked (host)
    seats_taken: int
    seats_left: int


class AvailabilityOut(BaseModel):
    listing_id: str
    unit: Unit
    from_: date | datetime | None = Field(default=None, serialization_alias="from")
    to: date | datetime | None = None
    capacity: int
    nights: list[NightOut] | None = None  # unit night
    slots: list[SlotOut] | None = None  # unit hour
    stock: int | None = None  # unit item
    stock_left: int | None = None
    blocks: list[Period] = Field(default_factory=list)
    version: int


class BlockIn(StrictModel):
    """A host-blocked period: dates (nights, `end` exclusive) or whole-hour UTC times."""

    start: date | datetime
    end: date | datetime


BlocksIn = Annotated[list[BlockIn], Field(max_length=200)]
