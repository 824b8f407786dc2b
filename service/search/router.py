"""GET /v1/search/listings (faceted, geo, availability, cursor pages), /v1/search/map (clusters),
/v1/listings/{listing_id}/similar and /v1/search/suggest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response

from service.core.deps import EsDep, OptionalUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit
from service.search import discovery, service
from service.search import query as sq
from service.search.deps import SearchCacheDep
from service.search.schemas import (
    MapResult,
    SearchFilters,
    SearchResult,
    SimilarResult,
    SuggestResult,
)

router = APIRouter(tags=["search"])


@router.get(
    "/v1/search/listings",
    response_model=SearchResult,
    responses=problem_responses(422, 429, 503),
    summary="Search published listings",
)
async def search_listings(
    es: EsDep,
    settings: SettingsDep,
    user: OptionalUser,
    filters: Annotated[SearchFilters, Query()],
    cache: SearchCacheDep,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Response:
    result = await service.search_page(
        es, settings, user, params=filters.to_params(), limit=limit, cursor=cursor, cache=cache
    )
    # Built from our own index documents in the documented shape (SearchResult, tested):
    # serialising directly skips re-validating every hit on the hot path.
    return Response(orjson.dumps(result), media_type="application/json")


@router.get(
    "/v1/search/map",
    response_model=MapResult,
    responses=problem_responses(422, 429, 503),
    summary="Clusters of the listings a search finds, for a map viewport",
)
async def search_map(
    es: EsDep,
    settings: SettingsDep,
    filters: Annotated[SearchFilters, Query()],
    zoom: Annotated[int, Query(ge=0, le=discovery.MAX_ZOOM, description="map zoom level")],
) -> Response:
    result = await service.map_clusters(es, settings, params=filters.to_params(), zoom=zoom)
    return Response(orjson.dumps(result), media_type="application/json")


@router.get(
    "/v1/listings/{listing_id}/similar",
    response_model=SimilarResult,
    responses=problem_responses(404, 422, 429, 503),
    summary="Published listings similar to this one, bookable for the given dates and guests",
)
async def similar_listings(
    listing_id: str,
    es: EsDep,
    settings: SettingsDep,
    user: OptionalUser,
    check_in: Annotated[date | None, Query(description="first night (YYYY-MM-DD)")] = None,
    check_out: Annotated[date | None, Query(description="day of departure")] = None,
    start: Annotated[datetime | None, Query(description="hour slots from (UTC)")] = None,
    end: Annotated[datetime | None, Query(description="hour slots until (UTC)")] = None,
    guests: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    limit: Annotated[int, Query(ge=1, le=50, description="how many (max 50)")] = 10,
) -> Response:
    oid = parse_object_id(listing_id, "listing")
    params = sq.SearchParams(
        check_in=check_in, check_out=check_out, start=start, end=end, guests=guests
    )
    result = await service.similar(
        es, settings, user, listing_id=str(oid), params=params, limit=limit
    )
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
    cache: SearchCacheDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="prefix")],
) -> dict[str, Any]:
    return await service.suggest(es, settings, q=q, cache=cache)
