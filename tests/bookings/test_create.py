"""Creating bookings and orders: claims per unit, price breakdown, host rules, bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.bookings.support import (
    assert_availability_matches_bookings,
    book,
    future_day,
    future_hour,
    iso,
    listing_doc,
    publish,
)
from tests.conftest import Account


async def test_night_booking_claims_nights_and_freezes_price(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host, price={"amount": 12345, "currency": "EUR"})
    r = await book(
        client, guest, listing["id"], check_in=future_day(30), check_out=future_day(33), guests=2
    )
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["status"] == "requested"
    assert b["check_in"] == future_day(30).isoformat()
    assert b["check_out"] == future_day(33).isoformat()
    price = b["price"]
    # 3 nights x 123.45; fee 5 % and commission 15 % rounded half up on the subtotal.
    assert price["units"] == 3
    assert price["subtotal"] == {"amount": 37035, "currency": "EUR"}
    assert price["guest_fee"]["amount"] == 1852  # 1851.75 -> 1852
    assert price["commission"]["amount"] == 5555  # 5555.25 -> 5555
    assert price["total"]["amount"] == 37035 + 1852
    assert price["host_payout"]["amount"] == 37035 - 5555

    listing_after = await listing_doc(listing["id"])
    assert listing_after.version > listing["version"]  # the claim went through apply_write
    await assert_availability_matches_bookings(listing["id"])

    av = await client.get(
        f"/v1/listings/{listing['id']}/availability",
        params={"from": future_day(29).isoformat(), "to": future_day(34).isoformat()},
    )
    assert av.status_code == 200, av.text
    states = [n["status"] for n in av.json()["nights"]]
    assert states == ["free", "booked", "booked", "booked", "free"]

    # The same nights again, and an overlapping-but-not-equal range: 409 problem+json.
    for ci, co in ((30, 33), (32, 35), (28, 31)):
        r = await book(
            client, guest, listing["id"], check_in=future_day(ci), check_out=future_day(co)
        )
        assert r.status_code == 409, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    # Adjacent stays (half-open ranges) are fine.
    r = await book(client, guest, listing["id"], check_in=future_day(33), check_out=future_day(35))
    assert r.status_code == 201, r.text
    await assert_availability_matches_bookings(listing["id"])


async def test_hour_slots_share_seats_until_capacity(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(
        client, host, unit="hour", capacity=5, price={"amount": 2000, "currency": "EUR"}
    )
    lid = listing["id"]
    r = await book(
        client, guest, lid, start=future_hour(hour=10), end=future_hour(hour=12), seats=3
    )
    assert r.status_code == 201, r.text
    assert r.json()["price"]["units"] == 6  # 2 hours x 3 seats
    r = await book(
        client, guest, lid, start=future_hour(hour=11), end=future_hour(hour=13), seats=2
    )
    assert r.status_code == 201, r.text
    # 11:00 now has 5/5 seats taken.
    r = await book(
        client, guest, lid, start=future_hour(hour=11), end=future_hour(hour=12), seats=1
    )
    assert r.status_code == 409
    r = await book(
        client, guest, lid, start=future_hour(hour=12), end=future_hour(hour=13), seats=3
    )
    assert r.status_code == 201, r.text
    await assert_availability_matches_bookings(lid)
    av = await client.get(
        f"/v1/listings/{lid}/availability",
        params={"from": iso(future_hour(hour=10)), "to": iso(future_hour(hour=14))},
    )
    assert av.status_code == 200, av.text
    slots = [(s["seats_taken"], s["seats_left"], s["status"]) for s in av.json()["slots"]]
    assert slots == [(3, 2, "free"), (5, 0, "booked"), (5, 0, "booked"), (0, 5, "free")]


async def test_items_take_stock(client: httpx.AsyncClient, host: Account, guest: Account) -> None:
    listing = await publish(client, host, unit="item", stock=5, capacity=1)
    lid = listing["id"]
    r = await book(client, guest, lid, quantity=3)
    assert r.status_code == 201, r.text
    r = await book(client, guest, lid, quantity=3)
    assert r.status_code == 409
    r = await book(client, guest, lid, quantity=2)
    assert r.status_code == 201, r.text
    av = (await client.get(f"/v1/listings/{lid}/availability")).json()
    assert av["stock_left"] == 0 and av["stock"] == 5
    await assert_availability_matches_bookings(lid)


async def test_instant_book_is_accepted_immediately(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host, rules={"instant_book": True})
    r = await book(client, guest, listing["id"], check_in=future_day(10), check_out=future_day(11))
    assert r.status_code == 201 and r.json()["status"] == "accepted"


BAD_NIGHTS: list[tuple[dict[str, Any], str]] = [
    ({"check_in": 30, "check_out": 30}, "check_out"),
    ({"check_in": 30, "check_out": 29}, "check_out"),
    ({"check_in": -2, "check_out": 1}, "check_in"),
    ({"check_in": 30, "check_out": 31, "guests": 5}, "guests"),
    ({"check_in": 30, "check_out": 31, "guests": 0}, "guests"),
    ({"check_out": 31}, "check_in"),
    ({"check_in": 30, "check_out": 31, "seats": 1}, "seats"),
    ({"check_in": 30, "check_out": 31, "quantity": 1}, "quantity"),
    ({"check_in": 30, "check_out": 31, "unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_NIGHTS)
async def test_bad_night_input_is_422_naming_the_field(
    client: httpx.AsyncClient, host: Account, guest: Account, fields: dict[str, Any], field: str
) -> None:
    listing = await publish(client, host)
    body = {
        k: (iso(future_day(v)) if k in ("check_in", "check_out") else v) for k, v in fields.items()
    }
    r = await client.post(
        "/v1/bookings", json={"listing_id": listing["id"], **body}, headers=guest.headers
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["loc"] for e in r.json()["errors"]), r.json()


async def test_host_rules_min_max_nights_and_notice(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(
        client, host, rules={"min_nights": 2, "max_nights": 3, "advance_notice_hours": 72}
    )
    lid = listing["id"]
    cases = [
        ((30, 31), "check_out"),  # 1 night < min 2
        ((30, 34), "check_out"),  # 4 nights > max 3
        ((1, 3), "check_in"),  # tomorrow is inside the 72 h notice
    ]
    for (ci, co), field in cases:
        r = await book(client, guest, lid, check_in=future_day(ci), check_out=future_day(co))
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == [field]
    r = await book(client, guest, lid, check_in=future_day(30), check_out=future_day(32))
    assert r.status_code == 201


async def test_bad_hour_and_item_input(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    hours = await publish(client, host, unit="hour", capacity=3)
    start = future_hour(hour=10)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start": start + timedelta(minutes=30), "end": start + timedelta(hours=2)}, "start"),
        ({"start": start, "end": start + timedelta(minutes=90)}, "end"),
        ({"start": start, "end": start}, "end"),
        ({"start": start, "end": start + timedelta(hours=1), "seats": 4}, "seats"),
        ({"start": start, "end": start + timedelta(hours=1), "seats": 0}, "seats"),
        ({"start": start - timedelta(days=60), "end": start - timedelta(days=59)}, "start"),
        ({"end": start}, "start"),
    ]
    for fields, field in cases:
        r = await book(client, guest, hours["id"], **fields)
        assert r.status_code == 422, (fields, r.text)
        assert any(field in e["loc"] for e in r.json()["errors"]), (fields, r.json())

    items = await publish(client, host, unit="item", stock=3, capacity=1)
    for q in (0, -1):
        r = await book(client, guest, items["id"], quantity=q)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["quantity"]
    r = await book(client, guest, items["id"])
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["quantity"]


async def test_cannot_book_unpublished_own_or_unknown(
    client: httpx.AsyncClient, host: Account, make_user: Any
) -> None:
    both = await make_user(["guest", "host"])
    mine = await publish(client, both)
    r = await book(client, both, mine["id"], check_in=future_day(5), check_out=future_day(6))
    assert r.status_code == 403
    draft = await client.post("/v1/listings", json={**_listing_min()}, headers=host.headers)
    r = await book(
        client, both, draft.json()["id"], check_in=future_day(5), check_out=future_day(6)
    )
    assert r.status_code == 404
    r = await book(client, both, "0" * 24, check_in=future_day(5), check_out=future_day(6))
    assert r.status_code == 404
    r = await book(client, both, "nope", check_in=future_day(5), check_out=future_day(6))
    assert r.status_code == 422
    # Hosts without the guest role may not book; anonymous callers are 401.
    r = await book(client, host, mine["id"], check_in=future_day(5), check_out=future_day(6))
    assert r.status_code == 403
    r = await client.post("/v1/bookings", json={"listing_id": mine["id"]})
    assert r.status_code == 401


def _listing_min() -> dict[str, Any]:
    from tests.conftest import listing_body

    return listing_body()


async def test_blocks_replace_and_refuse_to_cover_bookings(
    client: httpx.AsyncClient, host: Account, guest: Account, make_user: Any
) -> None:
    listing = await publish(client, host)
    lid = listing["id"]
    url = f"/v1/listings/{lid}/availability/blocks"
    r = await client.put(
        url,
        json=[{"start": iso(future_day(10)), "end": iso(future_day(12))}],
        headers=host.headers,
    )
    assert r.status_code == 200, r.text
    # A booking inside a block is refused (409), one beside it works.
    r = await book(client, guest, lid, check_in=future_day(11), check_out=future_day(13))
    assert r.status_code == 409
    await book(client, guest, lid, check_in=future_day(20), check_out=future_day(22))
    # A new block set that would cover the booking is 409 and changes nothing.
    r = await client.put(
        url,
        json=[{"start": iso(future_day(21)), "end": iso(future_day(25))}],
        headers=host.headers,
    )
    assert r.status_code == 409
    doc = await listing_doc(lid)
    assert len(doc.availability.blocks) == 1
    # Replacing (here: clearing) the blocks frees the nights.
    r = await client.put(url, json=[], headers=host.headers)
    assert r.status_code == 200 and r.json()["blocks"] == []
    r = await book(client, guest, lid, check_in=future_day(11), check_out=future_day(13))
    assert r.status_code == 201
    # Only the owner; bad periods are 422.
    other = await make_user(["host"])
    r = await client.put(url, json=[], headers=other.headers)
    assert r.status_code == 403
    r = await client.put(
        url,
        json=[{"start": iso(future_day(12)), "end": iso(future_day(10))}],
        headers=host.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == [0, "end"]
    av = await client.get(
        f"/v1/listings/{lid}/availability",
        params={"from": future_day(10).isoformat(), "to": future_day(9).isoformat()},
    )
    assert av.status_code == 422
