"""Search use cases: a page of listings (facets, geo, availability) and title suggestions.

The request body comes from `query` (parameters -> Elasticsearch body -> API result); this
module runs it against the listings alias and binds cursors to the search they came from.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from documents import User
from indexers.definition import F, alias_name
from service.core.config import Settings
from service.core.errors import invalid, not_found, unavailable
from service.core.pagination import decode_cursor, encode_cursor
from service.search import discovery
from service.search import query as sq
from service.wishlists.service import mark_saved

log = logging.getLogger(__name__)

SUGGESTIONS = 10


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


async def search_listings(
    es: AsyncElasticsearch,
    settings: Settings,
    *,
    params: sq.SearchParams,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """One page of hits in the SearchResult shape; 422 naming the parameter for bad input."""
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
    return {
        "hits": [sq.hit_of(params, h) for h in page],
        "total": resp["hits"]["total"]["value"],
        "facets": sq.facets_of(params, resp.get("aggregations", {})),
        "next_cursor": next_cursor,
    }


async def search_page(
    es: AsyncElasticsearch,
    settings: Settings,
    user: User | None,
    *,
    params: sq.SearchParams,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """`search_listings` for a caller: the same result for everyone, then each hit's `saved`
    flag for a signed-in caller (after the query, so a shared result cache stays possible)."""
    result = await search_listings(es, settings, params=params, limit=limit, cursor=cursor)
    await mark_saved(user, result["hits"])
    return result


async def map_clusters(
    es: AsyncElasticsearch, settings: Settings, *, params: sq.SearchParams, zoom: int
) -> dict[str, Any]:
    """Clusters of the listings the list would find, one per geotile cell over the bbox."""
    sq.validate(params)
    if params.bbox is None:
        raise invalid(["query", "bbox"], "the map needs the viewport bbox")
    resp = await _search(es, _index(settings), discovery.map_body(params, zoom=zoom))
    return discovery.clusters_of(resp)


async def similar(
    es: AsyncElasticsearch,
    settings: Settings,
    user: User | None,
    *,
    listing_id: str,
    params: sq.SearchParams,
    limit: int,
) -> dict[str, Any]:
    """Published listings like this one (never itself), bookable for the given dates/guests.

    The listing must be in the index (published, live): anything else is 404."""
    sq.validate(params)
    index = _index(settings)
    try:
        doc = await es.get(index=index, id=listing_id)
    except NotFoundError:
        raise not_found("listing") from None
    source = doc["_source"]
    loc = source[F.LOCATION]
    # The listing is the origin: hits carry their distance from it.
    scored = dataclasses.replace(params, lat=loc["lat"], lon=loc["lon"], radius_km=None)
    resp = await _search(es, index, discovery.similar_body(scored, source, size=limit))
    hits = [sq.hit_of(scored, h) for h in resp["hits"]["hits"]]
    await mark_saved(user, hits)
    return {"hits": hits}


async def watched_hits(
    es: AsyncElasticsearch, settings: Settings, *, params: sq.SearchParams, size: int
) -> list[dict[str, Any]]:
    """The listings a search finds now, most recently changed first, as `{id, title, price}`:
    what the saved-search alerts compare with what they saw before."""
    query, _ = sq.build_query(dataclasses.replace(params, facets=[]))
    body = {
        "query": query,
        "size": size,
        "sort": [{F.UPDATED_AT: "desc"}, {F.ID: "asc"}],
        "_source": [F.ID, F.TITLE, F.PRICE],
    }
    resp = await _search(es, _index(settings), body)
    return [h["_source"] for h in resp["hits"]["hits"]]


async def suggest(es: AsyncElasticsearch, settings: Settings, *, q: str) -> dict[str, Any]:
    """Completions of listing titles, categories and cities for the prefix `q`."""
    prefix = q.strip()
    if not prefix:
        raise invalid(["query", "q"], "must not be blank")
    body = {
        "_source": False,
        "suggest": {
            "s": {
                "prefix": prefix,
                "completion": {"field": F.SUGGEST, "size": SUGGESTIONS, "skip_duplicates": True},
            }
        },
    }
    resp = await _search(es, _index(settings), body)
    options = resp.get("suggest", {}).get("s", [{}])[0].get("options", [])
    return {"suggestions": [{"text": o["text"]} for o in options[:SUGGESTIONS]]}
