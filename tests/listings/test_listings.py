"""Listings: owner-only writes, drafts hidden, If-Match, soft delete, one version bump per write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from documents import Listing
from tests.conftest import Account, MakeUser

pytestmark = pytest.mark.stores  # embedded and server tiers

Body = Callable[..., dict[str, Any]]


async def create(client: httpx.AsyncClient, host: Account, body: dict[str, Any]) -> dict:
    r = await client.post("/v1/listings", json=body, headers=host.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_returns_draft_version_1_with_embedded_summaries(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    r = await client.post("/v1/listings", json=new_listing(), headers=host.headers)
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "draft" and body["version"] == 1
    assert body["owner_id"] == host.id
    assert r.headers["etag"].endswith('-1"')  # "<edit tag>-<version>"
    assert body["location"] == {"lat": 52.37, "lon": 4.89}
    assert body["price"] == {"amount": 12000, "currency": "EUR"}
    assert body["review_summary"]["count"] == 0
    assert body["review_summary"]["histogram"] == {str(i): 0 for i in range(1, 6)}
    assert body["availability"]["unit"] == "night"
    assert body["created_at"].endswith("Z") or "+00:00" in body["created_at"]


async def test_guests_cannot_create_listings(
    client: httpx.AsyncClient, guest: Account, new_listing: Body
) -> None:
    r = await client.post("/v1/listings", json=new_listing(), headers=guest.headers)
    assert r.status_code == 403
    assert await Listing.count() == 0


async def test_drafts_are_invisible_to_others_and_published_visible_to_all(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser, new_listing: Body
) -> None:
    other = await make_user(["host", "guest"])
    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=other.headers)).status_code == 404
    assert (await client.get(path, headers=host.headers)).status_code == 200

    assert (await client.post(f"{path}/publish", headers=host.headers)).status_code == 200
    anon = await client.get(path)
    assert anon.status_code == 200 and anon.json()["status"] == "published"

    assert (await client.post(f"{path}/close", headers=host.headers)).json()["status"] == "closed"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=host.headers)).status_code == 200


async def test_only_the_owner_writes(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser, new_listing: Body
) -> None:
    intruder = await make_user(["host"])
    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    # A draft the intruder may not even see: 404 for every write.
    for method, url, body in [
        ("PATCH", path, {"title": "Hijacked title"}),
        ("POST", f"{path}/publish", None),
        ("POST", f"{path}/close", None),
        ("DELETE", path, None),
    ]:
        r = await client.request(method, url, json=body, headers=intruder.headers)
        assert r.status_code == 404, (method, url, r.status_code)
    await client.post(f"{path}/publish", headers=host.headers)
    # Published: visible, so writes are refused as 403 rather than hidden.
    r = await client.patch(path, json={"title": "Hijacked title"}, headers=intruder.headers)
    assert r.status_code == 403
    assert (await client.delete(path, headers=intruder.headers)).status_code == 403
    assert (await client.patch(path, json={"title": "Anonymous edit"})).status_code == 401
    stored = await client.get(path)
    assert stored.json()["title"] == listing["title"]
    assert stored.json()["version"] == 2  # only the owner's publish counted


async def test_version_increments_by_exactly_one_per_write(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    expected = 1
    steps = [
        ("PATCH", path, {"title": "A better title"}),
        ("PATCH", path, {"price": {"amount": 9900, "currency": "EUR"}, "capacity": 2}),
        ("POST", f"{path}/publish", None),
        ("PATCH", path, {"amenities": ["wifi", "pool", "wifi"]}),
        ("POST", f"{path}/close", None),
    ]
    previous_updated = listing["updated_at"]
    for method, url, body in steps:
        r = await client.request(method, url, json=body, headers=host.headers)
        assert r.status_code == 200, r.text
        expected += 1
        assert r.json()["version"] == expected
        assert r.json()["updated_at"] >= previous_updated
        previous_updated = r.json()["updated_at"]
    final = (await client.get(path, headers=host.headers)).json()
    assert final["version"] == expected
    assert final["amenities"] == ["pool", "wifi"]
    assert final["price"]["amount"] == 9900 and final["capacity"] == 2
    # Publishing an already-published listing changes nothing, so it bumps nothing.
    await client.post(f"{path}/publish", headers=host.headers)
    again = await client.post(f"{path}/publish", headers=host.headers)
    assert again.json()["version"] == expected + 1


async def test_if_match_stale_version_is_412_and_changes_nothing(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    ok = await client.patch(
        path, json={"title": "First edit wins"}, headers={**host.headers, "If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.headers["etag"].endswith('-2"')
    stale = await client.patch(
        path, json={"title": "Second edit loses"}, headers={**host.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    current = (await client.get(path, headers=host.headers)).json()
    assert current["title"] == "First edit wins" and current["version"] == 2
    # The legacy numeric If-Match (the listing's `version`): weak form accepted too.
    assert (
        await client.patch(
            path, json={"title": "Third edit"}, headers={**host.headers, "If-Match": 'W/"2"'}
        )
    ).status_code == 200
    bad = await client.patch(
        path, json={"title": "x" * 10}, headers={**host.headers, "If-Match": "abc"}
    )
    assert bad.status_code == 400


async def test_concurrent_if_match_writers_exactly_one_wins(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    import asyncio

    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    results = await asyncio.gather(
        *[
            client.patch(
                path,
                json={"title": f"Writer number {i}"},
                headers={**host.headers, "If-Match": '"1"'},
            )
            for i in range(20)
        ]
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1 and codes.count(412) == 19
    assert (await client.get(path, headers=host.headers)).json()["version"] == 2


async def test_soft_delete_hides_from_reads_and_lists_but_keeps_the_document(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    listing = await create(client, host, new_listing())
    path = f"/v1/listings/{listing['id']}"
    await client.post(f"{path}/publish", headers=host.headers)
    assert (await client.delete(path, headers=host.headers)).status_code == 204
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=host.headers)).status_code == 404
    assert (
        await client.patch(path, json={"title": "Back again"}, headers=host.headers)
    ).status_code == 404
    assert (await client.delete(path, headers=host.headers)).status_code == 404
    own = await client.get("/v1/listings", params={"owner": "me"}, headers=host.headers)
    assert own.json()["items"] == []
    # Kept as a tombstone (bookings refer to it; the indexer deletes it from search).
    stored = await Listing.get(listing["id"])
    assert stored is not None and stored.deleted_at is not None and stored.version == 3


async def test_list_own_pages_with_cursor_newest_first(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser, new_listing: Body
) -> None:
    other = await make_user(["host"])
    mine = [await create(client, host, new_listing(title=f"Listing number {i}")) for i in range(7)]
    await create(client, other, new_listing(title="Not mine at all"))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"owner": "me", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/v1/listings", params=params, headers=host.headers)
        assert r.status_code == 200
        page = r.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["id"] for m in reversed(mine)]
    tampered = await client.get(
        "/v1/listings", params={"owner": "me", "cursor": "AAAA" + "x" * 20}, headers=host.headers
    )
    assert tampered.status_code == 422
    assert tampered.json()["errors"][0]["loc"][-1] == "cursor"


@pytest.mark.parametrize("owner", [None, "someone-else"])
async def test_list_requires_owner_me(
    client: httpx.AsyncClient, host: Account, owner: str | None
) -> None:
    params = {} if owner is None else {"owner": owner}
    r = await client.get("/v1/listings", params=params, headers=host.headers)
    assert r.status_code == 422
    assert "owner" in r.json()["errors"][0]["loc"]


async def test_malformed_ids_are_404(client: httpx.AsyncClient, host: Account) -> None:
    assert (await client.get("/v1/listings/not-an-object-id")).status_code == 404
    assert (await client.get("/v1/listings/000000000000000000000000")).status_code == 404


async def test_item_stock_patch_keeps_claimed_items(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    listing = await create(client, host, new_listing(unit="item", stock=5, category="camera"))
    assert listing["availability"]["stock_left"] == 5
    path = f"/v1/listings/{listing['id']}"
    r = await client.patch(path, json={"stock": 8}, headers=host.headers)
    assert r.status_code == 200
    assert r.json()["stock"] == 8 and r.json()["availability"]["stock_left"] == 8
    night = await create(client, host, new_listing())
    r = await client.patch(f"/v1/listings/{night['id']}", json={"stock": 3}, headers=host.headers)
    assert r.status_code == 422


async def test_stock_cannot_drop_below_what_is_already_ordered(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    from bson import ObjectId

    from service.listings.store import apply_write

    listing = await create(client, host, new_listing(unit="item", stock=5, category="camera"))
    claimed = await apply_write(
        ObjectId(listing["id"]),
        {
            "$inc": {"availability.stock_left": -3},
            "$push": {"availability.holds": {"booking_id": "b1", "quantity": 3, "seats": 0}},
        },
        conditions={"availability.stock_left": {"$gte": 3}},
    )
    assert claimed is not None and claimed.availability.stock_left == 2
    path = f"/v1/listings/{listing['id']}"
    r = await client.patch(path, json={"stock": 2}, headers=host.headers)
    assert r.status_code == 409
    r = await client.patch(path, json={"stock": 4}, headers=host.headers)
    assert r.status_code == 200
    assert r.json()["stock"] == 4 and r.json()["availability"]["stock_left"] == 1
