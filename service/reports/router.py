"""GET /v1/admin/reports/revenue (admin)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from documents.values import as_utc, midnight, utcnow
from service.core.deps import AdminUser
from service.core.errors import invalid, problem_responses
from service.reports.schemas import GroupBy, RevenueReport
from service.reports.service import revenue

router = APIRouter(tags=["admin"])


def _instant(value: date | datetime) -> datetime:
    return as_utc(value) if isinstance(value, datetime) else midnight(value)


@router.get(
    "/v1/admin/reports/revenue",
    response_model=RevenueReport,
    response_model_by_alias=True,
    responses=problem_responses(401, 403, 422),
)
async def revenue_report(
    user: AdminUser,
    frm: Annotated[
        date | datetime | None, Query(alias="from", description="start (inclusive)")
    ] = None,
    to: Annotated[date | datetime | None, Query(description="end (exclusive)")] = None,
    group_by: GroupBy = "month",
) -> RevenueReport:
    """GMV, refunds, commission and guest fees per month or per category and currency."""
    end = _instant(to) if to is not None else utcnow()
    try:
        start = _instant(frm) if frm is not None else end - timedelta(days=365)
    except OverflowError:
        raise invalid(["query", "to"], "date out of range") from None
    if end <= start:
        raise invalid(["query", "to"], "must be after from")
    return await revenue(start, end, group_by)
