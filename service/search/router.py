"""GET /v1/search/listings (faceted, geo, availability, cursor pages) and /v1/search/suggest."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError
from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from indexers.definition import F, alias_name
from service.core.config import Settings
from service.core.deps import EsDep, SettingsDep
from service.core.errors import invalid, problem_responses, unavailable
from service.core.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from service.search import query as sq
from service.search.schemas import SearchResult, SuggestResult

log = logging.getLogger(__name__)


router = APIRouter(tags=["search"])

Term = Annotated[str, StringConstraints(max_length=64)]
Terms = Annotated[list[Term], Query(max_length=20)]


async def _search(es: AsyncElasticsearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """One search; ES trouble becomes a 503 naming elasticsearch (connection errors already do)."""
    try:
        resp = await es.search(index=index, **body)
    except NotFoundError:
        raise unavailable("elasticsearch", "the search index is not ready") from None
    except ApiError as exc:
        if exc.meta.status >= 500 or exc.meta.status == 429:
            log.error("elasticsearch error %s: %s", exc.meta.status, exc)
            raise unavailable("elasticsearch") from None
        raise
    return resp.body


def _index(settings: Settings) -> str:
    return alias_name(settings.elasticsearch_index_prefix)


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
    guests: Annotated[int | None, Query(ge=1, le=10_000)] = None,
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
        sort=sort,
        facets=sq.parse_facets(facets),
    )
    sq.validate(params)
    secret = settings.cursor_secret.get_secret_value()
    fingerprint = params.fingerprint()
    position = decode_cursor(secret, cursor)
    search_after = None
    if position is not None:
        if position.get("f") != fingerprint or not isinstance(position.get("after"), list):
            raise invalid(["query", "cursor"], "cursor belongs to a different search")
        search_after = position["after"]
    # One extra hit tells whether another page exists (no empty last page).
    body = sq.build_body(params, size=limit + 1, search_after=search_after)
    resp = await _search(es, _index(settings), body)
    raw_hits = resp["hits"]["hits"]
    page = raw_hits[:limit]
    next_cursor = None
    if len(raw_hits) > limit:
        next_cursor = encode_cursor(secret, {"f": fingerprint, "after": page[-1]["sort"]})
    result = {
        "hits": [sq.hit_of(params, h) for h in page],
        "total": resp["hits"]["total"]["value"],
        "facets": sq.facets_of(params, resp.get("aggregations", {})),
        "next_cursor": next_cursor,
    }
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
    prefix = q.strip()
    if not prefix:
        raise invalid(["query", "q"], "must not be blank")
    body = {
        "_source": False,
        "suggest": {
            "s": {
                "prefix": prefix,
                "completion": {"field": F.SUGGEST, "size": 10, "skip_duplicates": True},
            }
        },
    }
    resp = await _search(es, _index(settings), body)
    options = resp.get("suggest", {}).get("s", [{}])[0].get("options", [])
    return {"suggestions": [{"text": o["text"]} for o in options[:10]]}
