"""Idempotency-Key on booking creation, payment and cancel: replays, mismatch, in flight."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from documents import Booking, IdempotencyRecord, Payment
from documents.values import utcnow
from service.core.idempotency import request_hash
from tests.bookings.support import book_nights, future_day, iso, listing_doc, publish
from tests.conftest import Account, MakeUser

pytestmark = pytest.mark.stores  # embedded and server tiers


def _body(lid: str, start: int = 30, n: int = 2) -> dict[str, object]:
    return {
        "listing_id": lid,
        "check_in": iso(future_day(start)),
        "check_out": iso(future_day(start + n)),
        "guests": 1,
    }


async def test_create_replay_returns_first_response(
    client: httpx.AsyncClient, host: Account, guest: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host)
    headers = {**guest.headers, "Idempotency-Key": "k-create-1"}
    first = await client.post("/v1/bookings", json=_body(listing["id"]), headers=headers)
    assert first.status_code == 201
    again = await client.post("/v1/bookings", json=_body(listing["id"]), headers=headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await Booking.get_motor_collection().count_documents({}) == 1
    doc = await listing_doc(listing["id"])
    assert len(doc.availability.holds) == 1

    # Same key, another body: 422 naming the header; nothing booked.
    other = await client.post("/v1/bookings", json=_body(listing["id"], 50), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await Booking.get_motor_collection().count_documents({}) == 1

    # Keys are per user: another guest's identical key is independent.
    other_guest = await make_user(["guest"])
    r = await client.post(
        "/v1/bookings",
        json=_body(listing["id"], 60),
        headers={**other_guest.headers, "Idempotency-Key": "k-create-1"},
    )
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers


async def test_replay_of_a_lost_race_is_the_same_409(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    await book_nights(client, guest, listing["id"], start=30)
    headers = {**guest.headers, "Idempotency-Key": "k-lost"}
    r1 = await client.post("/v1/bookings", json=_body(listing["id"]), headers=headers)
    assert r1.status_code == 409
    r2 = await client.post("/v1/bookings", json=_body(listing["id"]), headers=headers)
    assert r2.status_code == 409 and r2.headers["Idempotent-Replayed"] == "true"
    assert r2.json()["detail"] == r1.json()["detail"]


async def test_concurrent_duplicates_run_once(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    headers = {**guest.headers, "Idempotency-Key": "k-dup"}
    results = await asyncio.gather(
        *(
            client.post("/v1/bookings", json=_body(listing["id"]), headers=headers)
            for _ in range(20)
        )
    )
    codes = [r.status_code for r in results]
    # One runs; the others either see it in flight (409) or replay its 201.
    assert set(codes) <= {201, 409}
    assert await Booking.get_motor_collection().count_documents({}) == 1
    created = [r.json() for r in results if r.status_code == 201]
    assert created and all(c["id"] == created[0]["id"] for c in created)
    in_flight = [r.json() for r in results if r.status_code == 409]
    assert all("in progress" in p["detail"] for p in in_flight)
    record = await IdempotencyRecord.get_motor_collection().find_one({"key": "k-dup"})
    assert record is not None and record["status_code"] == 201


async def test_cancel_and_payment_replays(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    listing = await publish(client, host, rules={"instant_book": True})
    bid = (await book_nights(client, guest, listing["id"]))["id"]
    pay_headers = {**guest.headers, "Idempotency-Key": "k-pay"}
    p1 = await client.post(f"/v1/bookings/{bid}/payment", headers=pay_headers)
    p2 = await client.post(f"/v1/bookings/{bid}/payment", headers=pay_headers)
    assert p1.status_code == p2.status_code == 201
    assert p1.json() == p2.json()
    assert await Payment.get_motor_collection().count_documents({}) == 1

    cancel_headers = {**guest.headers, "Idempotency-Key": "k-cancel"}
    c1 = await client.post(f"/v1/bookings/{bid}/cancel", headers=cancel_headers)
    c2 = await client.post(f"/v1/bookings/{bid}/cancel", headers=cancel_headers)
    assert c1.status_code == c2.status_code == 200
    assert c1.json() == c2.json()
    # Without the key a second cancel is an illegal transition.
    c3 = await client.post(f"/v1/bookings/{bid}/cancel", headers=guest.headers)
    assert c3.status_code == 409


async def test_abandoned_in_flight_key_is_taken_over(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    """A crash after the record was inserted leaves it in flight; a retry soon after is told
    409, a retry after ABANDONED_AFTER runs the request."""
    listing = await publish(client, host)
    body = _body(listing["id"])
    scope = f"{guest.id}:POST /v1/bookings"
    digest = request_hash("POST", "/v1/bookings", body)
    record = IdempotencyRecord(key="k-crashed", scope=scope, request_hash=digest)
    await record.insert()
    headers = {**guest.headers, "Idempotency-Key": "k-crashed"}
    r = await client.post("/v1/bookings", json=body, headers=headers)
    assert r.status_code == 409 and "in progress" in r.json()["detail"]
    await IdempotencyRecord.get_motor_collection().update_one(
        {"_id": record.id}, {"$set": {"created_at": utcnow() - timedelta(minutes=2)}}
    )
    r = await client.post("/v1/bookings", json=body, headers=headers)
    assert r.status_code == 201, r.text
    replay = await client.post("/v1/bookings", json=body, headers=headers)
    assert replay.json() == r.json() and replay.headers["Idempotent-Replayed"] == "true"
