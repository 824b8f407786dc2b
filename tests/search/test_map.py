"""GET /v1/search/map: clusters of exactly the listings the list finds, inside their tiles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.search.conftest import SearchEnv, day

WORLD = "-180,-85,180,85"
NL = "4.0,51.5,6.0,53.0"
AMSTERDAM = "4.80,52.30,4.98,52.44"

CASES: list[tuple[str, int, dict[str, Any]]] = [
    (WORLD, 3, {}),
    (WORLD, 3, {"category": ["cabin", "house"]}),
    (NL, 8, {"price_max": 40_000, "amenities": ["wifi"]}),
    (AMSTERDAM, 12, {}),
    (AMSTERDAM, 12, {"q": "garden", "guests": 2}),
    (WORLD, 5, {"check_in": day(4), "check_out": day(7)}),  # inside the booking horizon
    (NL, 10, {"lat": 52.37, "lon": 4.89, "radius_km": 8, "sort": "distance"}),
]


def _inside(loc: dict[str, float], bbox: list[float]) -> bool:
    min_lon, min_lat, max_lon, max_lat = bbox
    eps = 1e-6
    in_lon = min_lon - eps <= loc["lon"] <= max_lon + eps
    return in_lon and min_lat - eps <= loc["lat"] <= max_lat + eps


async def _list_total(env: SearchEnv, bbox: str, params: dict[str, Any]) -> tuple[int, dict]:
    r = await env.client.get("/v1/search/listings", params={**params, "bbox": bbox, "limit": 100})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["total"], {h["id"]: h for h in body["hits"]}


@pytest.mark.parametrize(("bbox", "zoom", "params"), CASES)
async def test_cluster_counts_sum_to_the_list_total(
    search_env: SearchEnv, bbox: str, zoom: int, params: dict[str, Any]
) -> None:
    r = await search_env.client.get("/v1/search/map", params={**params, "bbox": bbox, "zoom": zoom})
    assert r.status_code == 200, r.text
    body = r.json()
    total, _ = await _list_total(search_env, bbox, params)
    assert total > 0  # every case finds listings: equal sums of nothing would prove nothing
    assert body["total"] == total
    assert sum(c["count"] for c in body["clusters"]) == total
    assert all(c["count"] > 0 for c in body["clusters"])


@pytest.mark.parametrize(("bbox", "zoom", "params"), CASES[2:])
async def test_every_listing_of_a_cluster_lies_in_its_tile(
    search_env: SearchEnv, bbox: str, zoom: int, params: dict[str, Any]
) -> None:
    r = await search_env.client.get("/v1/search/map", params={**params, "bbox": bbox, "zoom": zoom})
    clusters = r.json()["clusters"]
    by_id = {str(li.id): li for li in search_env.listings}
    named = 0
    for c in clusters:
        assert _inside({"lat": c["lat"], "lon": c["lon"]}, c["bbox"]), c
        # The list over the tile (same filters) finds exactly the cluster's listings.
        tile = ",".join(str(v) for v in c["bbox"])
        in_tile, hits = await _list_total(search_env, tile, params)
        assert in_tile == c["count"], c
        for hit in hits.values():
            assert _inside(hit["location"], c["bbox"])
        if c["count"] <= 3:
            assert len(c["listing_ids"]) == c["count"]
            assert set(c["listing_ids"]) == set(hits)
            for lid in c["listing_ids"]:
                loc = by_id[lid].location
                assert _inside({"lat": loc.lat, "lon": loc.lon}, c["bbox"])
            named += 1
        else:
            assert c["listing_ids"] == []
    if zoom >= 12:
        assert named > 0  # a city zoom splits the city into small clusters


async def test_small_clusters_name_their_top_ranked_listings(search_env: SearchEnv) -> None:
    params = {"bbox": AMSTERDAM, "sort": "price_asc"}
    r = await search_env.client.get("/v1/search/map", params={**params, "zoom": 14})
    for c in r.json()["clusters"]:
        if 1 < c["count"] <= 3:
            tile = ",".join(str(v) for v in c["bbox"])
            lr = await search_env.client.get("/v1/search/listings", params={**params, "bbox": tile})
            assert c["listing_ids"] == [h["id"] for h in lr.json()["hits"]]


async def test_zoom_sets_the_grain(search_env: SearchEnv) -> None:
    world = await search_env.client.get("/v1/search/map", params={"bbox": NL, "zoom": 3})
    city = await search_env.client.get("/v1/search/map", params={"bbox": NL, "zoom": 12})
    assert len(world.json()["clusters"]) < len(city.json()["clusters"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"zoom": 3}, "bbox"),
        ({"bbox": NL}, "zoom"),
        ({"bbox": NL, "zoom": 40}, "zoom"),
        ({"bbox": "1,2,3", "zoom": 3}, "bbox"),
        ({"bbox": NL, "zoom": 3, "price_min": 5, "price_max": 1}, "price_max"),
        ({"bbox": NL, "zoom": 3, "check_in": day(4)}, "check_out"),
    ],
)
async def test_bad_map_input_is_422_naming_the_field(
    search_env: SearchEnv, params: dict[str, Any], field: str
) -> None:
    r = await search_env.client.get("/v1/search/map", params=params)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["query", field]]
