"""Search use cases: a page of listings (facets, geo, availability) and title suggestions.

The request body comes from `query` (parameters -> Elasticsearch body -> API result); this
module runs it against the listings alias and binds cursors to the search they came from.
"""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from documents.values import utcnow
from indexers.definition import F, alias_name
from service.core.config import Settings
from service.core.errors import invalid, unavailable
from service.core.pagination import decode_cursor, encode_cursor
from service.search import query as sq

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
    fee_bps, commission_bps = settings.guest_service_fee_bps, settings.platform_commission_bps
    body = sq.build_body(
        params, size=limit + 1, now=utcnow(), guest_fee_bps=fee_bps, search_after=search_after
    )
    resp = await _search(es, _index(settings), body)
    raw_hits = resp["hits"]["hits"]
    page = raw_hits[:limit]
    next_cursor = None
    if len(raw_hits) > limit:
        next_cursor = encode_cursor(secret, {"f": fingerprint, "after": page[-1]["sort"]})
    return {
        "hits": [
            sq.hit_of(params, h, commission_bps=commission_bps, guest_fee_bps=fee_bps) for h in page
        ],
        "total": resp["hits"]["total"]["value"],
        "facets": sq.facets_of(params, resp.get("aggregations", {})),
        "next_cursor": next_cursor,
    }


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
