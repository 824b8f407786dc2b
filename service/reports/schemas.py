"""Reports API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["month", "category"]


class RevenueRow(BaseModel):
    key: str
    currency: str
    gmv: int
    refunds: int
    commission: int
    guest_fees: int
    net_revenue: int  # commission + guest fees
    payments: int  # captured payments


class RevenueReport(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    group_by: GroupBy
    rows: list[RevenueRow]
