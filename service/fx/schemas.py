"""Exchange-rate table shapes (see docs/api.md, Currency)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from documents.fx import FxTable, minor_exponent, parse_rate


def _code(value: str) -> str:
    minor_exponent(value)  # ValueError names what is wrong with it
    return value


def _rate(value: str) -> str:
    parse_rate(value)
    return value


CurrencyCode = Annotated[
    str, Field(min_length=3, max_length=3, examples=["EUR"]), AfterValidator(_code)
]
Rate = Annotated[
    str,
    Field(max_length=32, description="decimal string: 1 base = rate units", examples=["1.0832"]),
    AfterValidator(_rate),
]


class FxTableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: CurrencyCode = Field(description="ISO 4217 code every rate is quoted against")
    rates: dict[CurrencyCode, Rate] = Field(
        min_length=1, max_length=200, description="code -> units of it per 1 base"
    )


class FxTableOut(BaseModel):
    version: int = Field(description="increments by one with every change")
    base: str
    rates: dict[str, str]
    updated_at: datetime

    @classmethod
    def of(cls, table: FxTable) -> FxTableOut:
        return cls(
            version=table.version,
            base=table.base,
            rates=dict(table.rates),
            updated_at=table.updated_at,
        )
