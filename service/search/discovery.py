"""Elasticsearch bodies beyond the list: map clusters and similar listings.

Both start from `query.build_query`, the one builder of the filter/query part, so a map shows
exactly the listings the list would (and the same bookability filters apply to similar ones).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from indexers.definition import F
from service.search import query as sq

MAX_ZOOM = 22
MAX_PRECISION = 29  # geotile_grid's finest
# The grid never has more cells over the viewport than this, so every matching listing falls
# in a returned bucket (a coarser precision is used for a huge bbox at a deep zoom).
MAX_TILES = 4096
IDS_UP_TO = 3  # a cluster this small names its listings
SIMILAR_SOURCE = list(sq.HIT_SOURCE)  # hits shaped by the same `hit_of` as search


def _tile_x(lon: float, precision: int) -> float:
    return (lon + 180.0) / 360.0 * (1 << precision)


def _tile_y(lat: float, precision: int) -> float:
    lat = max(-85.05112878, min(85.05112878, lat))
    rad = math.radians(lat)
    return (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * (1 << precision)


def tiles_over(bbox: tuple[float, float, float, float], precision: int) -> int:
    min_lon, min_lat, max_lon, max_lat = bbox
    width = max_lon - min_lon if max_lon >= min_lon else 360.0 - (min_lon - max_lon)
    nx = math.floor(width / 360.0 * (1 << precision)) + 2
    ny = math.floor(_tile_y(min_lat, precision)) - math.floor(_tile_y(max_lat, precision)) + 1
    return min(nx, 1 << precision) * ny


def precision_for(zoom: int, bbox: tuple[float, float, float, float]) -> int:
    """Cells a quarter of a map tile wide (zoom + 2), coarser when the bbox would need more
    than MAX_TILES cells."""
    precision = min(MAX_PRECISION, zoom + 2)
    while precision > 0 and tiles_over(bbox, precision) > MAX_TILES:
        precision -= 1
    return precision


def tile_bbox(key: str) -> tuple[float, float, float, float]:
    """The bounds of a geotile key `z/x/y`: min_lon, min_lat, max_lon, max_lat."""
    z, x, y = (int(part) for part in key.split("/"))
    n = 1 << z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y))


def map_body(p: sq.SearchParams, *, zoom: int, guest_fee_bps: int) -> dict[str, Any]:
    assert p.bbox is not None
    # No facets: every filter in `query`.
    query, _ = sq.build_query(dataclasses.replace(p, facets=[]), guest_fee_bps=guest_fee_bps)
    order = sq._sort(p, sq.price_basis(p, guest_fee_bps))
    min_lon, min_lat, max_lon, max_lat = p.bbox
    return {
        "query": query,
        "size": 0,
        "track_total_hits": True,
        "aggs": {
            "tiles": {
                "geotile_grid": {
                    "field": F.LOCATION,
                    "precision": precision_for(zoom, p.bbox),
                    "size": MAX_TILES,
                    "bounds": {
                        "top_left": {"lat": max_lat, "lon": min_lon},
                        "bottom_right": {"lat": min_lat, "lon": max_lon},
                    },
                },
                "aggs": {
                    "centroid": {"geo_centroid": {"field": F.LOCATION}},
                    "top": {"top_hits": {"size": IDS_UP_TO, "sort": order, "_source": False}},
                },
            }
        },
    }


def clusters_of(resp: dict[str, Any]) -> dict[str, Any]:
    clusters = []
    for b in resp.get("aggregations", {}).get("tiles", {}).get("buckets", []):
        count = b["doc_count"]
        loc = b["centroid"]["location"]
        ids = [h["_id"] for h in b["top"]["hits"]["hits"]] if count <= IDS_UP_TO else []
        clusters.append(
            {
                "lat": loc["lat"],
                "lon": loc["lon"],
                "count": count,
                "bbox": tile_bbox(b["key"]),
                "listing_ids": ids,
            }
        )
    return {"clusters": clusters, "total": resp["hits"]["total"]["value"]}


def similar_body(
    p: sq.SearchParams, source: dict[str, Any], *, size: int, guest_fee_bps: int
) -> dict[str, Any]:
    """`more_like_this` over title, description and amenities (or the same category), scored
    up for the same category, nearness and a similar price; the search's bookability filters
    (dates, guests) apply; never the listing itself."""
    query, _ = sq.build_query(
        dataclasses.replace(p, facets=[], q=None), guest_fee_bps=guest_fee_bps
    )
    inner = query["bool"]
    inner["must_not"] = [*inner.get("must_not", []), {"ids": {"values": [source[F.ID]]}}]
    like = " ".join(
        [source.get(F.TITLE, ""), source.get(F.DESCRIPTION, ""), *source.get(F.AMENITIES, [])]
    )
    inner["should"] = [
        {
            "more_like_this": {
                "fields": [F.TITLE, F.DESCRIPTION, F.AMENITIES],
                "like": like,
                "min_term_freq": 1,
                "min_doc_freq": 1,
                "max_query_terms": 25,
                "minimum_should_match": "1",
            }
        },
        {"term": {F.CATEGORY: {"value": source[F.CATEGORY], "boost": 0.5}}},
    ]
    inner["minimum_should_match"] = 1
    loc = source[F.LOCATION]
    price = int(source[F.PRICE]["amount"])
    return {
        "query": {
            "function_score": {
                "query": query,
                "functions": [
                    {"filter": {"term": {F.CATEGORY: source[F.CATEGORY]}}, "weight": 1.0},
                    {
                        "gauss": {
                            F.LOCATION: {
                                "origin": {"lat": loc["lat"], "lon": loc["lon"]},
                                "offset": "1km",
                                "scale": "25km",
                                "decay": 0.5,
                            }
                        },
                        "weight": 2.0,
                    },
                    {
                        "gauss": {
                            F.PRICE_AMOUNT: {
                                "origin": price,
                                "scale": max(100, price // 4),
                                "decay": 0.5,
                            }
                        },
                        "weight": 1.0,
                    },
                ],
                "score_mode": "sum",
                "boost_mode": "multiply",
            }
        },
        "size": size,
        "sort": ["_score", {F.ID: "asc"}],
        "_source": SIMILAR_SOURCE,
    }
