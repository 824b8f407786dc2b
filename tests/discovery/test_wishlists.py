"""Wishlists: idempotent save/remove, cursor pages, unavailable listings, the saved flag,
GDPR export and erasure."""

from __future__ import annotations

import httpx
import pytest

from documents import WishlistEntry
from tests.conftest import Account, MakeUser, listing_body
from tests.discovery.conftest import Sync, publish

pytestmark = pytest.mark.stores


async def _wishlist(client: httpx.AsyncClient, who: Account, **params: object) -> dict:
    r = await client.get("/v1/me/wishlist", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _put(client: httpx.AsyncClient, who: Account, lid: str) -> int:
    return (await client.put(f"/v1/me/wishlist/{lid}", headers=who.headers)).status_code


async def test_save_and_remove_are_idempotent_and_pages_follow_the_cursor(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    ids = [await publish(client, host.headers, listing_body(title=f"Loft {i}")) for i in range(5)]
    for lid in ids + ids[:2]:  # saving twice changes nothing
        assert await _put(client, guest, lid) == 204
    first = await _wishlist(client, guest, limit=3)
    assert [i["listing_id"] for i in first["items"]] == ids[::-1][:3]
    second = await _wishlist(client, guest, limit=3, cursor=first["next_cursor"])
    assert [i["listing_id"] for i in second["items"]] == ids[::-1][3:]
    assert second["next_cursor"] is None
    assert all(i["available"] and i["listing"]["id"] == i["listing_id"] for i in first["items"])

    for _ in range(2):
        r = await client.delete(f"/v1/me/wishlist/{ids[0]}", headers=guest.headers)
        assert r.status_code == 204
    assert ids[0] not in {i["listing_id"] for i in (await _wishlist(client, guest))["items"]}
    # Another user's wishlist is their own: the host's is empty.
    assert (await _wishlist(client, host))["items"] == []


async def test_unpublished_or_deleted_listings_show_as_unavailable(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    closed = await publish(client, host.headers, listing_body())
    deleted = await publish(client, host.headers, listing_body())
    for lid in (closed, deleted):
        assert await _put(client, guest, lid) == 204
    r = await client.post(f"/v1/listings/{closed}/close", headers=host.headers)
    assert r.status_code == 200
    assert (await client.delete(f"/v1/listings/{deleted}", headers=host.headers)).status_code == 204
    items = {i["listing_id"]: i for i in (await _wishlist(client, guest))["items"]}
    assert set(items) == {closed, deleted}
    assert all(not i["available"] and i["listing"] is None for i in items.values())
    # A listing the caller may not see cannot be saved.
    r = await client.post("/v1/listings", json=listing_body(), headers=host.headers)
    assert await _put(client, guest, r.json()["id"]) == 404
    assert await _put(client, guest, deleted) == 404
    assert await _put(client, guest, "nope") == 404


async def test_search_and_similar_hits_say_saved_for_the_caller(
    client: httpx.AsyncClient, host: Account, guest: Account, sync: Sync
) -> None:
    a = await publish(client, host.headers, listing_body(title="Canal loft alpha"))
    b = await publish(client, host.headers, listing_body(title="Canal loft beta"))
    assert await _put(client, guest, a) == 204
    await sync()
    r = await client.get("/v1/search/listings", params={"q": "canal"}, headers=guest.headers)
    assert {h["id"]: h["saved"] for h in r.json()["hits"]} == {a: True, b: False}
    r = await client.get("/v1/search/listings", params={"q": "canal"})  # anonymous: no flag
    assert all("saved" not in h for h in r.json()["hits"])
    r = await client.get(f"/v1/listings/{b}/similar", headers=guest.headers)
    assert {h["id"]: h["saved"] for h in r.json()["hits"]} == {a: True}


async def test_wishlist_is_exported_and_erased(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    me = await make_user(["guest"])
    lid = await publish(client, host.headers, listing_body())
    assert await _put(client, me, lid) == 204
    export = (await client.get("/v1/me/export", headers=me.headers)).json()
    assert [w["listing_id"] for w in export["wishlist"]] == [lid]
    r = await client.delete("/v1/me", headers=me.headers)
    assert r.status_code == 202 and r.json()["erased"]["wishlist"] == 1
    assert await WishlistEntry.find({"user_id": me.id}).count() == 0
