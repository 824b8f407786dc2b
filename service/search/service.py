"""Search use cases: a page of listings (facets, geo, availability) and title suggestions.

The request body comes from `query` (parameters -> Elasticsearch body -> API result); this
module runs it against the listings alias and binds cursors to the search they came from.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from documents import User
from documents.values import utcnow
from indexers.definition import F, alias_name
from service.core.config import Settings
from service.core.errors import ProblemError, invalid, not_found, unavailable
from service.core.pagination import decode_cursor, encode_cursor
from service.fx.service import cached_rates, current_version
from service.search import discovery
from service.search import query as sq
from service.search.cache import SearchCache, search_parts
from service.wishlists.service import mark_saved

log = logging.getLogger(__name__)

SUGGESTIONS = 10


async def _search(es: AsyncElasticsearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """One search; ES trouble becomes a 503 naming elasticsearch (connection errors already do).

    A request Elasticsearch refuses (400) is bad input, never its fault: with a cursor it is
    the cursor (a 422 on it); without one, the query parameters."""
    try:
        resp = await es.search(index=index, **body)
    except NotFoundError:
        raise _refused(404, "", body) from None
    except ApiError as exc:
        raise _refused(exc.meta.status, exc, body) from None
    return resp.body


def _refused(status: int, reason: object, body: dict[str, Any]) -> ProblemError:
    """The answer to a search Elasticsearch refused or failed (the rules of `_search`)."""
    if status == 404:
        return unavailable("elasticsearch", "the search index is not ready")
    if status >= 500 or status == 429:
        log.error("elasticsearch error %s: %s", status, reason)
        return unavailable("elasticsearch")
    log.warning("elasticsearch refused a search (%s): %s", status, reason)
    if "search_after" in body:
        return invalid(["query", "cursor"], "invalid cursor")
    return invalid(["query"], "the search could not be run with these parameters")


# Options of a search body that go in its multi-search header line instead.
_HEADER_KEYS = ("request_cache",)


async def _searches(
    es: AsyncElasticsearch, index: str, bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Several searches in one multi-search request (one round trip; Elasticsearch runs them
    concurrently), each failing as `_search` would: the first failed one is the answer."""
    # Encoded here with orjson: the client's NDJSON serializer is the standard library's
    # (its JSON one is orjson, see indexers.clients.make_es), and it sends bytes lines as-is.
    lines: list[bytes] = []
    for body in bodies:
        lines.append(orjson.dumps({k: body[k] for k in _HEADER_KEYS if k in body}))
        lines.append(orjson.dumps({k: v for k, v in body.items() if k not in _HEADER_KEYS}))
    try:
        resp = await es.msearch(index=index, searches=lines)
    except NotFoundError:
        raise _refused(404, "", bodies[0]) from None
    except ApiError as exc:
        raise _refused(exc.meta.status, exc, bodies[0]) from None
    out: list[dict[str, Any]] = resp.body["responses"]
    for body, item in zip(bodies, out, strict=True):
        if "error" in item:
            raise _refused(int(item.get("status", 500)), item["error"], body)
    return out


def _index(settings: Settings) -> str:
    return alias_name(settings.elasticsearch_index_prefix)


# Which currencies the catalogue prices in, per index: one terms aggregation (stopping at two),
# kept briefly (a catalogue gains its second currency rarely, and this runs before every
# priced or price-faceted search).
CURRENCIES_TTL_S = 5.0
_currencies: dict[tuple[int, str], tuple[float, list[str]]] = {}


async def catalogue_currencies(es: AsyncElasticsearch, index: str) -> list[str]:
    """The catalogue's one currency, or two of its several (an empty catalogue: none)."""
    key, now = (id(es), index), time.monotonic()
    cached = _currencies.get(key)
    if cached is not None and now - cached[0] < CURRENCIES_TTL_S:
        return cached[1]
    body = {"size": 0, "aggs": {"c": {"terms": {"field": F.PRICE_CURRENCY, "size": 2}}}}
    resp = await _search(es, index, body)
    codes = [str(b["key"]) for b in resp["aggregations"]["c"]["buckets"]]
    _currencies[key] = (now, codes)
    return codes


async def with_fx(es: AsyncElasticsearch, index: str, params: sq.SearchParams) -> sq.SearchParams:
    """The params with the rate table when `currency` is asked for (422 naming `currency`
    when the table cannot convert to it). Without `currency`, price bounds and price sorts
    over a catalogue in several currencies are a 422 naming `currency`, and the price facet
    is bucketed in the rate table's base currency: amounts in different currencies are never
    compared, or counted together, as if they were one."""
    if params.currency is not None:
        rates = await cached_rates()
        if rates is None:
            raise invalid(["query", "currency"], "no exchange-rate table is set")
        if not rates.knows(params.currency):
            known = ", ".join(sorted(rates.table))
            raise invalid(["query", "currency"], f"not in the exchange-rate table ({known})")
        return dataclasses.replace(params, fx=rates)
    if not params.priced and "price" not in params.facets:
        return params
    if len(await catalogue_currencies(es, index)) <= 1:
        return params
    if params.priced:
        raise invalid(
            ["query", "currency"],
            "listings are priced in several currencies: price bounds and price sorts need "
            "currency=",
        )
    rates = await cached_rates()
    if rates is None:
        raise invalid(
            ["query", "facets"],
            "listings are priced in several currencies and no exchange-rate table is set: "
            "the price facet cannot count them in one currency",
        )
    return dataclasses.replace(params, fx=rates, facet_currency=rates.base)


async def facets_currency(
    es: AsyncElasticsearch, index: str, params: sq.SearchParams
) -> str | None:
    """The currency the answer's price facet bounds are in (None without a price facet)."""
    if "price" not in params.facets:
        return None
    if (converted := params.price_facet_currency) is not None:
        return converted
    codes = await catalogue_currencies(es, index)  # one (with_fx saw to that), or none
    return codes[0] if codes else None


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
    params = await with_fx(es, _index(settings), params)
    secret = settings.cursor_secret.get_secret_value()
    fingerprint = params.fingerprint()
    position = decode_cursor(secret, cursor)
    search_after = None
    if position is not None:
        if position.get("f") != fingerprint:
            raise invalid(["query", "cursor"], "cursor belongs to a different search")
        if not sq.valid_search_after(params, position.get("after")):
            raise invalid(["query", "cursor"], "invalid cursor")
        search_after = position["after"]
    # One extra hit tells whether another page exists (no empty last page).
    fee_bps, commission_bps = settings.guest_service_fee_bps, settings.platform_commission_bps
    if params.flexible:
        return await _flexible_page(
            es, settings, params, limit=limit, search_after=search_after, fingerprint=fingerprint
        )
    now = utcnow()
    body = sq.build_body(
        params,
        size=limit + 1,
        now=now,
        guest_fee_bps=fee_bps,
        search_after=search_after,
        inline_facets=False,
    )
    # The page, the exact count of its hits and the bounded counts of the facets with a
    # selection go in one multi-search: each is bounded by its own work, none waits for
    # another.
    count_bodies = sq.domain_count_bodies(
        params, now=now, guest_fee_bps=fee_bps, up_to=count_up_to(settings)
    )
    apart = sq.count_body(params, now=now, guest_fee_bps=fee_bps)
    counting = [{**b, "request_cache": True} for b in (apart, *count_bodies.values()) if b]
    resp, *count_resps = await _searches(es, _index(settings), [body, *counting])
    counted = count_resps.pop(0) if apart else resp
    total = int(counted["hits"]["total"]["value"])
    counts = dict(zip(count_bodies, count_resps, strict=True))
    raw_hits = resp["hits"]["hits"]
    page = raw_hits[:limit]
    next_cursor = None
    if len(raw_hits) > limit:
        next_cursor = encode_cursor(secret, {"f": fingerprint, "after": page[-1]["sort"]})
    facets, estimated = await _facets(es, settings, params, total, counts, now=now)
    return {
        "hits": [
            sq.hit_of(params, h, commission_bps=commission_bps, guest_fee_bps=fee_bps) for h in page
        ],
        "total": total,
        "facets": facets,
        "facets_currency": await facets_currency(es, _index(settings), params),
        "facets_estimated": estimated,
        "next_cursor": next_cursor,
    }


async def _facets(
    es: AsyncElasticsearch,
    settings: Settings,
    params: sq.SearchParams,
    total: int,
    counts: dict[str, dict[str, Any]],
    *,
    now: Any,
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Facet counts in requests of their own, in one multi-search, once the exact count of
    the hits and the bounded domain counts told how many documents each facet counts: exact
    up to `search_facets_exact_hits`, sampled (and named as estimates) above. Each facet
    request's cost is bounded by the threshold or the sample, not by the catalogue; see
    docs/performance.md."""
    if not params.facets:
        return {}, []
    bodies, estimated = sq.facets_bodies(
        params,
        now=now,
        guest_fee_bps=settings.guest_service_fee_bps,
        domains=sq.facet_domains(params, total, counts),
        exact_up_to=settings.search_facets_exact_hits,
        sample_docs=settings.search_facets_sample_docs,
    )
    index = _index(settings)
    resps = await _searches(es, index, [{**b, "request_cache": True} for b in bodies])
    return sq.facets_of(params, sq.facet_nodes(resps)), estimated


def count_up_to(settings: Settings) -> int:
    """How far the domain counts go: past the exact threshold (so exact is decided exactly),
    and far enough that the sample probability chosen from a capped count still samples no
    more than sample_docs x catalogue / this."""
    return max(settings.search_facets_count_up_to, settings.search_facets_exact_hits + 1)


FLEX_BATCH = 500


async def _verified(
    es: AsyncElasticsearch,
    index: str,
    body: dict[str, Any],
    p: sq.SearchParams,
    *,
    now: Any,
    search_after: list[Any] | None,
    want: int | None,
) -> list[tuple[dict[str, Any], tuple[Any, Any]]]:
    """Candidates in sort order from `search_after` on, each with its earliest stay, until
    `want` are found (None: all of them)."""
    out: list[tuple[dict[str, Any], tuple[Any, Any]]] = []
    after = search_after
    while True:
        batch = {**body, "size": FLEX_BATCH, "track_total_hits": False}
        batch.pop("aggs", None)
        batch.pop("search_after", None)
        if after is not None:
            batch["search_after"] = after
        hits = (await _search(es, index, batch))["hits"]["hits"]
        for h in hits:
            stay = sq.earliest_stay(h["_source"], p, now)
            if stay is not None:
                out.append((h, stay))
                if want is not None and len(out) >= want:
                    return out
        if len(hits) < FLEX_BATCH:
            return out
        after = hits[-1]["sort"]


async def _flexible_page(
    es: AsyncElasticsearch,
    settings: Settings,
    params: sq.SearchParams,
    *,
    limit: int,
    search_after: list[Any] | None,
    fingerprint: str,
) -> dict[str, Any]:
    """Flexible dates: ES narrows to candidates (every condition that holds whatever the start
    day); each candidate's earliest bookable start is then found from the busy periods and
    notice in its search document. Pages walk the ES sort order (a stay's price does not
    depend on its start, so price sorts are exact), so search_after cursors stay correct; the
    total and the facets come from a pass over all candidates (cost grows with candidates)."""
    fee_bps, commission_bps = settings.guest_service_fee_bps, settings.platform_commission_bps
    now = utcnow()
    index = _index(settings)
    body = sq.build_body(params, size=limit + 1, now=now, guest_fee_bps=fee_bps)
    found = await _verified(
        es, index, body, params, now=now, search_after=search_after, want=limit + 1
    )
    page = found[:limit]
    secret = settings.cursor_secret.get_secret_value()
    next_cursor = None
    if len(found) > limit:
        next_cursor = encode_cursor(secret, {"f": fingerprint, "after": page[-1][0]["sort"]})
    # Total and facets: verify every candidate without the facet post_filter, then let ES
    # count and aggregate exactly those (multi-select facets as for fixed dates).
    unfiltered = {k: v for k, v in body.items() if k != "post_filter"}
    everything = await _verified(
        es, index, unfiltered, params, now=now, search_after=None, want=None
    )
    ids = [h["_source"][F.ID] for h, _ in everything]
    count_body = {
        **body,
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [body["query"], {"terms": {F.ID: ids}}]}},
    }
    count_body.pop("sort", None)
    resp = await _search(es, index, count_body)
    facets = sq.facets_of(params, resp.get("aggregations", {}))
    total = resp["hits"]["total"]["value"]
    hits = []
    for h, (check_in, check_out) in page:
        hit = sq.hit_of(params, h, commission_bps=commission_bps, guest_fee_bps=fee_bps)
        hit["stay"] = {"check_in": check_in.isoformat(), "check_out": check_out.isoformat()}
        hits.append(hit)
    return {
        "hits": hits,
        "total": total,
        "facets": facets,
        "facets_currency": await facets_currency(es, index, params),
        "facets_estimated": [],  # counted exactly over the verified candidates
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
    cache: SearchCache | None = None,
) -> dict[str, Any]:
    """`search_listings` for a caller: the same result for everyone (cached when `cache` is
    given), then each hit's `saved` flag for a signed-in caller, after the cache."""

    async def compute() -> dict[str, Any]:
        return await search_listings(es, settings, params=params, limit=limit, cursor=cursor)

    if cache is None or not cache.enabled:
        result = await compute()
    else:
        sq.validate(params)  # bad input is a 422 whether or not a page is cached
        parts = search_parts(params, limit=limit, cursor=cursor, now=utcnow())
        if params.currency is not None:
            # Display prices and converted bounds follow the rate table: a new table is a new
            # page at once, not only after its re-projection bumps the generation.
            parts["fx_version"] = await current_version()
        result = await cache.page("search", parts, compute)
    await mark_saved(user, result["hits"])
    return result


async def map_clusters(
    es: AsyncElasticsearch, settings: Settings, *, params: sq.SearchParams, zoom: int
) -> dict[str, Any]:
    """Clusters of the listings the list would find, one per geotile cell over the bbox."""
    sq.validate(params)
    if params.bbox is None:
        raise invalid(["query", "bbox"], "the map needs the viewport bbox")
    params = await with_fx(es, _index(settings), params)
    body = discovery.map_body(params, zoom=zoom, guest_fee_bps=settings.guest_service_fee_bps)
    resp = await _search(es, _index(settings), body)
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
    fee_bps, commission_bps = settings.guest_service_fee_bps, settings.platform_commission_bps
    body = discovery.similar_body(scored, source, size=limit, guest_fee_bps=fee_bps)
    resp = await _search(es, index, body)
    hits = [
        sq.hit_of(scored, h, commission_bps=commission_bps, guest_fee_bps=fee_bps)
        for h in resp["hits"]["hits"]
    ]
    await mark_saved(user, hits)
    return {"hits": hits}


async def watched_hits(
    es: AsyncElasticsearch, settings: Settings, *, params: sq.SearchParams, size: int
) -> list[dict[str, Any]]:
    """The listings a search finds now, most recently changed first, as `{id, title, price}`:
    what the saved-search alerts compare with what they saw before."""
    fee_bps = settings.guest_service_fee_bps
    try:
        params = await with_fx(es, _index(settings), params)
    except ProblemError as exc:  # e.g. its currency left the rate table: nothing to compare
        log.warning("saved search not run: %s", exc.detail)
        return []
    query, _ = sq.build_query(dataclasses.replace(params, facets=[]), guest_fee_bps=fee_bps)
    body = {
        "query": query,
        "size": size,
        "sort": [{F.UPDATED_AT: "desc"}, {F.ID: "asc"}],
        "_source": [F.ID, F.TITLE, F.PRICE],
    }
    resp = await _search(es, _index(settings), body)
    return [h["_source"] for h in resp["hits"]["hits"]]


async def suggest(
    es: AsyncElasticsearch, settings: Settings, *, q: str, cache: SearchCache | None = None
) -> dict[str, Any]:
    """Completions of listing titles, categories and cities for the prefix `q`."""
    prefix = q.strip()
    if not prefix:
        raise invalid(["query", "q"], "must not be blank")
    if cache is not None:
        return await cache.page("suggest", {"q": prefix}, lambda: suggest(es, settings, q=prefix))
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
