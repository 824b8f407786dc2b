"""Conversations: guest <-> owner only, 404 for everyone else, paging, unread counts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.bookings.support import book_nights, publish
from tests.conftest import Account, MakeUser


async def _start(
    client: httpx.AsyncClient, who: Account, lid: str, text: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/v1/conversations", json={"listing_id": lid, "text": text, **extra}, headers=who.headers
    )


async def _unread(client: httpx.AsyncClient, who: Account, cid: str) -> int:
    page = (await client.get("/v1/conversations", headers=who.headers)).json()
    return next(c["unread_count"] for c in page["items"] if c["id"] == cid)


async def test_guest_and_owner_talk_with_unread_counts(
    client: httpx.AsyncClient, host: Account, guest: Account, make_user: MakeUser
) -> None:
    lid = (await publish(client, host))["id"]
    r = await _start(client, guest, lid, "Is the loft quiet?")
    assert r.status_code == 201, r.text
    conv = r.json()
    cid = conv["id"]
    assert conv["host_id"] == host.id and conv["guest_id"] == guest.id
    assert conv["unread_count"] == 0  # for the sender
    assert await _unread(client, host, cid) == 1

    url = f"/v1/conversations/{cid}/messages"
    assert (await client.post(url, json={"text": "Very"}, headers=host.headers)).status_code == 201
    assert (
        await client.post(url, json={"text": "Pets?"}, headers=guest.headers)
    ).status_code == 201
    assert await _unread(client, host, cid) == 2
    assert await _unread(client, guest, cid) == 1

    # Reading resets the reader's counter only.
    msgs = (await client.get(url, headers=host.headers)).json()["items"]
    assert [m["text"] for m in msgs] == ["Pets?", "Very", "Is the loft quiet?"]
    assert await _unread(client, host, cid) == 0
    assert await _unread(client, guest, cid) == 1

    # A second "start" continues the same conversation (one per guest and listing).
    again = await _start(client, guest, lid, "One more thing")
    assert again.status_code == 201 and again.json()["id"] == cid

    # Outsiders see nothing: 404 for reading and posting; not in their lists.
    stranger = await make_user(["guest", "host"])
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    r = await client.post(url, json={"text": "hi"}, headers=stranger.headers)
    assert r.status_code == 404
    assert (await client.get("/v1/conversations", headers=stranger.headers)).json()["items"] == []
    assert (await client.get(url)).status_code == 401
    bad = await client.get("/v1/conversations/nope/messages", headers=guest.headers)
    assert bad.status_code == 404


async def test_paging_and_newest_activity_first(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    lids = [(await publish(client, host, title=f"Place number {i}"))["id"] for i in range(3)]
    cids = [(await _start(client, guest, lid, "hello")).json()["id"] for lid in lids]
    # Activity on the first one moves it to the top.
    r = await client.post(
        f"/v1/conversations/{cids[0]}/messages", json={"text": "bump"}, headers=host.headers
    )
    assert r.status_code == 201
    order = [
        c["id"]
        for c in (await client.get("/v1/conversations", headers=guest.headers)).json()["items"]
    ]
    assert order == [cids[0], cids[2], cids[1]]

    url = f"/v1/conversations/{cids[1]}/messages"
    await asyncio.gather(
        *(client.post(url, json={"text": f"m{i}"}, headers=guest.headers) for i in range(7))
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params, headers=host.headers)).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8
    page = (
        await client.get("/v1/conversations", params={"limit": 2}, headers=guest.headers)
    ).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await client.get(
        "/v1/conversations", params={"cursor": page["next_cursor"]}, headers=guest.headers
    )
    assert [c["id"] for c in rest.json()["items"]] == [cids[2]]  # cids[1] got newer messages


async def test_owner_writes_about_a_booking_and_bad_input(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    lid = (await publish(client, host))["id"]
    # The owner has no guest to address without a booking.
    r = await _start(client, host, lid, "hi")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["listing_id"]
    bid = (await book_nights(client, guest, lid))["id"]
    r = await _start(client, host, lid, "Welcome!", booking_id=bid)
    assert r.status_code == 201, r.text
    assert r.json()["guest_id"] == guest.id and r.json()["booking_id"] == bid
    assert (await _start(client, guest, lid, "")).status_code == 422
    assert (await _start(client, guest, "0" * 24, "hi")).status_code == 404
    r = await _start(client, guest, lid, "hi", extra_field=1)
    assert r.status_code == 422
