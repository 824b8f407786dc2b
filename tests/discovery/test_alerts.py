"""Saved searches and alerts end to end: the embedded indexer and a fast alert job."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import redis

from documents import Notification, SavedSearch
from service.alerts.service import MAX_SAVED_SEARCHES, run_alerts
from service.core.config import Settings
from tests.conftest import Account, listing_body, make_settings
from tests.discovery.conftest import publish

MATCH = {"category": ["cabin"], "city": ["Amsterdam"], "price_max": 20_000}
CABIN = {
    "title": "Forest cabin",
    "category": "cabin",
    "price": {"amount": 15_000, "currency": "EUR"},
}


@pytest.fixture
def settings(redis_server: Any, es_url: str, store_settings: dict[str, Any]) -> Settings:
    redis.Redis.from_url(redis_server.url).flushall()
    return make_settings(
        redis_server.url,
        es_url,
        run_embedded_indexer=True,
        alerts_interval_s=0.3,
        rate_limit_enabled=False,
        **store_settings,
    )


async def _notes(client: httpx.AsyncClient, who: Account, **params: object) -> dict:
    r = await client.get("/v1/me/notifications", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _wait_for(client: httpx.AsyncClient, who: Account, n: int, within: float = 10) -> dict:
    deadline = time.monotonic() + within
    while True:
        body = await _notes(client, who)
        if len(body["items"]) >= n or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.2)


async def _save(client: httpx.AsyncClient, who: Account, params: dict, name: str = "s") -> Any:
    return await client.post(
        "/v1/me/saved-searches", json={"name": name, "params": params}, headers=who.headers
    )


async def test_a_matching_publication_notifies_once_and_a_price_drop_too(
    app: Any, client: httpx.AsyncClient, host: Account, guest: Account, settings: Settings
) -> None:
    before = await publish(client, host.headers, listing_body(**CABIN))  # matched before: no news
    await asyncio.sleep(1.0)  # let the job see it as already there
    r = await _save(client, guest, MATCH, "cabins")
    assert r.status_code == 201, r.text
    saved_id = r.json()["id"]
    assert r.json()["params"] == MATCH

    await publish(client, host.headers, listing_body(title="Beach hut", category="hut"))
    fresh = await publish(client, host.headers, listing_body(**CABIN))
    body = await _wait_for(client, guest, 1)
    assert [(n["kind"], n["listing_id"]) for n in body["items"]] == [("new_listing", fresh)]
    assert body["unread_count"] == 1 and body["items"][0]["saved_search_id"] == saved_id

    # Re-runs (the loop's and a manual one) never notify twice.
    await asyncio.sleep(1.0)
    await run_alerts(app.state.es, settings)
    assert len((await _notes(client, guest))["items"]) == 1

    cheaper = {"price": {"amount": 9_000, "currency": "EUR"}}
    r = await client.patch(f"/v1/listings/{before}", json=cheaper, headers=host.headers)
    assert r.status_code == 200, r.text
    body = await _wait_for(client, guest, 2)
    drop = body["items"][0]
    assert (drop["kind"], drop["listing_id"]) == ("price_drop", before)
    assert drop["previous_price"]["amount"] == 15_000 and drop["price"]["amount"] == 9_000
    await asyncio.sleep(1.0)
    await run_alerts(app.state.es, settings)
    assert len((await _notes(client, guest))["items"]) == 2
    assert await Notification.find({}).count() == 2

    # Reading: by id (only the caller's), then all.
    first_id = body["items"][1]["id"]
    r = await client.post(
        "/v1/me/notifications/read", json={"ids": [first_id]}, headers=host.headers
    )
    assert r.status_code == 404
    r = await client.post(
        "/v1/me/notifications/read", json={"ids": [first_id]}, headers=guest.headers
    )
    assert r.json() == {"updated": 1, "unread_count": 1}
    r = await client.post("/v1/me/notifications/read", json={"all": True}, headers=guest.headers)
    assert r.json() == {"updated": 1, "unread_count": 0}
    r = await client.post("/v1/me/notifications/read", json={}, headers=guest.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["ids"]
    page = await _notes(client, guest, limit=1)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await _notes(client, guest, limit=1, cursor=page["next_cursor"])
    assert rest["items"][0]["id"] != page["items"][0]["id"]

    export = (await client.get("/v1/me/export", headers=guest.headers)).json()
    assert len(export["saved_searches"]) == 1 and len(export["notifications"]) == 2
    r = await client.delete("/v1/me", headers=guest.headers)
    assert r.json()["erased"]["saved_searches"] == 1
    assert r.json()["erased"]["notifications"] == 2


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"price_min": -1}, ["params", "price_min"]),
        ({"price_min": 10, "price_max": 5}, ["params", "price_max"]),
        ({"check_in": "2031-01-05"}, ["params", "check_out"]),
        ({"bbox": "1,2"}, ["params", "bbox"]),
        ({"sort": "cheapest"}, ["params", "sort"]),
        ({"colour": "red"}, ["params", "colour"]),
        ({"facets": "size"}, ["params", "facets"]),
    ],
)
async def test_saved_search_params_are_validated_like_search(
    client: httpx.AsyncClient, guest: Account, params: dict, loc: list[str]
) -> None:
    r = await _save(client, guest, params)
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [loc]


async def test_saved_searches_list_delete_and_cap(
    client: httpx.AsyncClient, guest: Account, host: Account
) -> None:
    ids = []
    for i in range(MAX_SAVED_SEARCHES):
        r = await _save(client, guest, {"q": f"loft {i}"}, f"s{i}")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await _save(client, guest, {}, "one too many")
    assert r.status_code == 409
    r = await client.get("/v1/me/saved-searches", params={"limit": 100}, headers=guest.headers)
    assert [s["id"] for s in r.json()["items"]] == ids[::-1]
    r = await client.delete(f"/v1/me/saved-searches/{ids[0]}", headers=host.headers)
    assert r.status_code == 404  # someone else's
    r = await client.delete(f"/v1/me/saved-searches/{ids[0]}", headers=guest.headers)
    assert r.status_code == 204
    r = await client.delete(f"/v1/me/saved-searches/{ids[0]}", headers=guest.headers)
    assert r.status_code == 404
    assert await SavedSearch.find({"user_id": guest.id}).count() == MAX_SAVED_SEARCHES - 1
    assert (await _save(client, guest, {}, "room again")).status_code == 201
