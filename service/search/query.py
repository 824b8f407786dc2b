"""Search parameters -> Elasticsearch request body, and raw response -> API result.

Field names come from `indexers.definition.F`, the same names the projection writes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import orjson

from documents.values import as_utc, midnight
from indexers.definition import F
from service.core.errors import invalid

Sort = Literal["relevance", "price_asc", "price_desc", "distance", "rating", "newest"]
FACETS = ("category", "amenities", "price", "rating", "city")
# Price facet buckets in minor units [from, to); rating buckets are "at least".
PRICE_BUCKETS: list[tuple[int | None, int | None]] = [
    (None, 5_000),
    (5_000, 10_000),
    (10_000, 20_000),
    (20_000, 50_000),
    (50_000, None),
]
RATING_BUCKETS = [4.5, 4.0, 3.5, 3.0]
TERMS_FACET_SIZE = 50
TEXT_FIELDS = [f"{F.TITLE}^3", f"{F.CATEGORY}^2", F.DESCRIPTION, F.AMENITIES, F.CITY_TEXT]
EARTH_RADIUS_KM = 6371.0087714  # the mean radius Elasticsearch uses for arc distances


@dataclass
class SearchParams:
    q: str | None = None
    category: list[str] = field(default_factory=list)
    amenities: list[str] = field(default_factory=list)
    city: list[str] = field(default_factory=list)
    price_min: int | None = None
    price_max: int | None = None
    rating_min: float | None = None
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    check_in: date | None = None
    check_out: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    guests: int | None = None
    sort: Sort = "relevance"
    facets: list[str] = field(default_factory=list)

    @property
    def origin(self) -> tuple[float, float] | None:
        if self.lat is None or self.lon is None:
            return None
        return self.lat, self.lon

    def busy_window(self) -> tuple[datetime, datetime] | None:
        """The requested period, half-open, that must not intersect any busy range."""
        if self.check_in is not None and self.check_out is not None:
            return midnight(self.check_in), midnight(self.check_out)
        if self.start is not None and self.end is not None:
            return as_utc(self.start), as_utc(self.end)
        return None

    def fingerprint(self) -> str:
        """Binds a cursor to the query it came from (a cursor from another query is a 422)."""
        raw = orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS, default=str)
        return hashlib.sha256(raw).hexdigest()[:16]


def parse_bbox(raw: str) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise invalid(["query", "bbox"], "must be min_lon,min_lat,max_lon,max_lat") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise invalid(["query", "bbox"], "must be min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise invalid(["query", "bbox"], "longitudes must be within [-180, 180]")
    if not (-90 <= min_lat <= max_lat <= 90):
        raise invalid(["query", "bbox"], "latitudes must be within [-90, 90], min <= max")
    return min_lon, min_lat, max_lon, max_lat


def parse_facets(raw: str | None) -> list[str]:
    if not raw:
        return []
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in FACETS]
    if unknown:
        raise invalid(["query", "facets"], f"unknown facet {unknown[0]!r}; one of {FACETS}")
    return list(dict.fromkeys(names))


def validate(p: SearchParams) -> None:
    """Cross-field rules FastAPI cannot express; each names the offending parameter."""
    if (p.lat is None) != (p.lon is None):
        raise invalid(["query", "lat" if p.lat is None else "lon"], "lat and lon go together")
    if p.radius_km is not None and p.origin is None:
        raise invalid(["query", "radius_km"], "needs lat and lon")
    if p.sort == "distance" and p.origin is None:
        raise invalid(["query", "sort"], "distance sort needs lat and lon")
    if p.price_min is not None and p.price_max is not None and p.price_min > p.price_max:
        raise invalid(["query", "price_max"], "must be >= price_min")
    if (p.check_in is None) != (p.check_out is None):
        raise invalid(["query", "check_out" if p.check_out is None else "check_in"], "give both")
    if p.check_in is not None and p.check_out is not None:
        if p.check_out <= p.check_in:
            raise invalid(["query", "check_out"], "must be after check_in")
        if (p.check_out - p.check_in).days > 366:
            raise invalid(["query", "check_out"], "at most 366 nights")
    if (p.start is None) != (p.end is None):
        raise invalid(["query", "end" if p.end is None else "start"], "give both")
    if p.start is not None and p.end is not None:
        if as_utc(p.end) <= as_utc(p.start):
            raise invalid(["query", "end"], "must be after start")
        if as_utc(p.end) - as_utc(p.start) > timedelta(days=31):
            raise invalid(["query", "end"], "at most 31 days of hour slots")
    if p.check_in is not None and p.start is not None:
        raise invalid(["query", "start"], "use either check_in/check_out or start/end")


def _facet_filters(p: SearchParams) -> dict[str, dict[str, Any]]:
    """Filters that belong to a facet: with multi-select, a facet ignores its own filter."""
    out: dict[str, dict[str, Any]] = {}
    if p.category:
        out["category"] = {"terms": {F.CATEGORY: [c.lower() for c in p.category]}}
    if p.amenities:
        out["amenities"] = {
            "bool": {"filter": [{"term": {F.AMENITIES: a.lower()}} for a in p.amenities]}
        }
    if p.city:
        out["city"] = {"terms": {F.CITY: p.city}}
    if p.price_min is not None or p.price_max is not None:
        rng: dict[str, int] = {}
        if p.price_min is not None:
            rng["gte"] = p.price_min
        if p.price_max is not None:
            rng["lte"] = p.price_max
        out["price"] = {"range": {F.PRICE_AMOUNT: rng}}
    if p.rating_min is not None:
        out["rating"] = {"range": {F.RATING_AVERAGE: {"gte": p.rating_min}}}
    return out


def _iso(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def _base_filters(p: SearchParams) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    filters: list[dict[str, Any]] = [{"term": {F.IN_STOCK: True}}]
    must_not: list[dict[str, Any]] = []
    if p.origin is not None and p.radius_km is not None:
        filters.append(
            {
                "geo_distance": {
                    "distance": f"{p.radius_km}km",
                    "distance_type": "arc",
                    F.LOCATION: {"lat": p.lat, "lon": p.lon},
                }
            }
        )
    if p.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = p.bbox
        filters.append(
            {
                "geo_bounding_box": {
                    F.LOCATION: {
                        "top_left": {"lat": max_lat, "lon": min_lon},
                        "bottom_right": {"lat": min_lat, "lon": max_lon},
                    }
                }
            }
        )
    if p.guests is not None:
        filters.append({"range": {F.CAPACITY: {"gte": p.guests}}})
    window = p.busy_window()
    if window is not None:
        start, end = window
        must_not.append(
            {"range": {F.BUSY: {"gte": _iso(start), "lt": _iso(end), "relation": "intersects"}}}
        )
    return filters, must_not


def _sort(p: SearchParams) -> list[Any]:
    tiebreak = {F.ID: "asc"}
    if p.sort == "price_asc":
        return [{F.PRICE_AMOUNT: "asc"}, tiebreak]
    if p.sort == "price_desc":
        return [{F.PRICE_AMOUNT: "desc"}, tiebreak]
    if p.sort == "distance":
        assert p.origin is not None
        return [
            {
                "_geo_distance": {
                    F.LOCATION: {"lat": p.lat, "lon": p.lon},
                    "order": "asc",
                    "unit": "km",
                    "distance_type": "arc",
                }
            },
            tiebreak,
        ]
    if p.sort == "rating":
        return [{F.RATING_BAYESIAN: "desc"}, {F.RATING_COUNT: "desc"}, tiebreak]
    if p.sort == "newest":
        return [{F.CREATED_AT: "desc"}, tiebreak]
    return ["_score", {F.CREATED_AT: "desc"}, tiebreak]


def _facet_agg(name: str) -> dict[str, Any]:
    if name in ("category", "amenities", "city"):
        fld = {"category": F.CATEGORY, "amenities": F.AMENITIES, "city": F.CITY}[name]
        return {
            "terms": {
                "field": fld,
                "size": TERMS_FACET_SIZE,
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
    if name == "price":
        ranges = []
        for lo, hi in PRICE_BUCKETS:
            r: dict[str, int] = {}
            if lo is not None:
                r["from"] = lo
            if hi is not None:
                r["to"] = hi
            ranges.append(r)
        return {"range": {"field": F.PRICE_AMOUNT, "ranges": ranges}}
    return {"range": {"field": F.RATING_AVERAGE, "ranges": [{"from": lo} for lo in RATING_BUCKETS]}}


def build_query(p: SearchParams) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The query every search of listings runs (the list, the map, saved-search alerts), and
    the active filters of requested facets, which the caller puts in post_filter instead.

    With no facets requested the second part is empty: the query alone selects the hits."""
    filters, must_not = _base_filters(p)
    facet_filters = _facet_filters(p)
    # Active filters of requested facets go to post_filter (they must not narrow their own
    # facet's counts); the others narrow everything, so they join the main query.
    post = {k: v for k, v in facet_filters.items() if k in p.facets}
    filters += [v for k, v in facet_filters.items() if k not in p.facets]
    query: dict[str, Any] = {"bool": {"filter": filters}}
    if must_not:
        query["bool"]["must_not"] = must_not
    if p.q:
        query["bool"]["must"] = [
            {
                "multi_match": {
                    "query": p.q,
                    "fields": TEXT_FIELDS,
                    "type": "best_fields",
                    "fuzziness": "AUTO",
                    "prefix_length": 1,
                }
            }
        ]
    return query, post


def build_body(
    p: SearchParams, *, size: int, search_after: list[Any] | None = None
) -> dict[str, Any]:
    query, post = build_query(p)
    body: dict[str, Any] = {
        "query": query,
        "size": size,
        "sort": _sort(p),
        "track_total_hits": True,
        "_source": [F.ID, F.TITLE, F.CATEGORY, F.PRICE, F.LOCATION, F.CITY, F.RATING],
    }
    if post:
        body["post_filter"] = {"bool": {"filter": list(post.values())}}
    if p.facets:
        body["aggs"] = {
            name: {
                "filter": {"bool": {"filter": [v for k, v in post.items() if k != name]}},
                "aggs": {"values": _facet_agg(name)},
            }
            for name in p.facets
        }
    if search_after is not None:
        body["search_after"] = search_after
    return body


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def hit_of(p: SearchParams, hit: dict[str, Any]) -> dict[str, Any]:
    src = hit["_source"]
    rs = src.get(F.RATING) or {}
    out: dict[str, Any] = {
        "id": src[F.ID],
        "title": src[F.TITLE],
        "category": src[F.CATEGORY],
        "price": src[F.PRICE],
        "location": src[F.LOCATION],
        "city": src[F.CITY],
        "review_summary": {
            "count": rs.get("count", 0),
            "average": rs.get("average"),
            "bayesian_average": rs.get("bayesian_average", 0.0),
        },
    }
    if p.origin is not None:
        if p.sort == "distance":
            km = float(hit["sort"][0])
        else:
            loc = src[F.LOCATION]
            km = haversine_km(p.lat, p.lon, loc["lat"], loc["lon"])  # type: ignore[arg-type]
        out["distance_km"] = round(km, 3)
    return out


def _int_or_none(v: float | None) -> int | None:
    return None if v is None else int(v)


def _same(v: float | None) -> float | None:
    return v


def facets_of(p: SearchParams, aggs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for name in p.facets:
        values = aggs[name]["values"]["buckets"]
        if name in ("price", "rating"):
            # ES reports range bounds as doubles; price bounds are money (integer minor units).
            bound = _int_or_none if name == "price" else _same
            out[name] = [
                {"from": bound(b.get("from")), "to": bound(b.get("to")), "count": b["doc_count"]}
                for b in values
            ]
        else:
            out[name] = [{"value": b["key"], "count": b["doc_count"]} for b in values]
    return out
