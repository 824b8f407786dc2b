"""GET /v1/search/listings (faceted, geo, availability, cursor pages) and /v1/search/suggest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from documents import Unit
from service.core.deps import EsDep, SettingsDep
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit
from service.search import query as sq
from service.search import service
from service.search.schemas import SearchResult, SuggestResult

router = APIRouter(tags=["search"])

Term = Annotated[str, StringConstraints(max_length=64)]
Terms = Annotated[list[Term], Query(max_length=20)]


@router.get(
    "/v1/search/listings",
    response_model=SearchResult,
    responses=problem_responses(422, 429, 503),
    summary="Search published listings",
)
async def search_listings(
    es: EsDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=200, description="keywords")] = None,
    category: Terms = [],  # noqa: B006 - FastAPI copies defaults
    amenities: Annotated[list[Term], Query(max_length=20, description="all must match")] = [],  # noqa: B006
    city: Terms = [],  # noqa: B006
    price_min: Annotated[int | None, Query(ge=0, le=10**12, description="minor units")] = None,
    price_max: Annotated[int | None, Query(ge=0, le=10**12, description="minor units")] = None,
    rating_min: Annotated[float | None, Query(ge=0, le=5)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=20_000)] = None,
    bbox: Annotated[
        str | None, Query(max_length=100, description="min_lon,min_lat,max_lon,max_lat")
    ] = None,
    check_in: Annotated[date | None, Query(description="first night (YYYY-MM-DD)")] = None,
    check_out: Annotated[date | None, Query(description="day of departure")] = None,
    start: Annotated[datetime | None, Query(description="hour slots from (UTC)")] = None,
    end: Annotated[datetime | None, Query(description="hour slots until (UTC)")] = None,
    guests: Annotated[
        int | None, Query(ge=1, le=10_000, description="guests (nights) or seats (hour slots)")
    ] = None,
    quantity: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="items to order: item listings with that stock"),
    ] = None,
    unit: Annotated[
        list[Unit], Query(max_length=3, description="night, hour or item (repeatable)")
    ] = [],  # noqa: B006
    nights: Annotated[
        int | None, Query(ge=1, le=365, description="flexible dates: stay length in nights")
    ] = None,
    frm: Annotated[
        date | None, Query(alias="from", description="flexible dates: earliest check-in")
    ] = None,
    to: Annotated[date | None, Query(description="flexible dates: latest check-in")] = None,
    sort: Annotated[sq.Sort, Query()] = "relevance",
    facets: Annotated[
        str | None, Query(max_length=100, description="comma list of " + ",".join(sq.FACETS))
    ] = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Response:
    params = sq.SearchParams(
        q=q.strip() or None if q else None,
        category=category,
        amenities=amenities,
        city=city,
        price_min=price_min,
        price_max=price_max,
        rating_min=rating_min,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        bbox=sq.parse_bbox(bbox) if bbox else None,
        check_in=check_in,
        check_out=check_out,
        start=start,
        end=end,
        guests=guests,
        quantity=quantity,
        unit=[u.value for u in dict.fromkeys(unit)],
        nights=nights,
        from_=frm,
        to=to,
        sort=sort,
        facets=sq.parse_facets(facets),
    )
    result = await service.search_listings(es, settings, params=params, limit=limit, cursor=cursor)
    # Built from our own index documents in the documented shape (SearchResult, tested):
    # serialising directly skips re-validating every hit on the hot path.
    return Response(orjson.dumps(result), media_type="application/json")


@router.get(
    "/v1/search/suggest",
    response_model=SuggestResult,
    responses=problem_responses(422, 429, 503),
    summary="Completions of listing titles, categories and cities",
)
async def suggest(
    es: EsDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="prefix")],
) -> dict[str, Any]:
    return await service.suggest(es, settings, q=q)
