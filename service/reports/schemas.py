"""Reports API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from documents.values import Money

GroupBy = Literal["month", "category"]


class RevenueRow(BaseModel):
    """One month or category in one currency; every amount is Money in `currency`."""

    key: str
    currency: str
    gmv: Money
    refunds: Money
    commission: Money
    guest_fees: Money
    net_revenue: Money  # commission + guest fees
    payments: int  # captured payments (a count)

    @classmethod
    def of(cls, key: str, currency: str, sums: dict[str, int]) -> RevenueRow:
        def money(amount: int) -> Money:
            return Money(amount=amount, currency=currency)

        return cls(
            key=key,
            currency=currency,
            gmv=money(sums["gmv"]),
            refunds=money(sums["refunds"]),
            commission=money(sums["commission"]),
            guest_fees=money(sums["guest_fees"]),
            net_revenue=money(sums["commission"] + sums["guest_fees"]),
            payments=sums["payments"],
        )


class RevenueReport(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    group_by: GroupBy
    rows: list[RevenueRow]
