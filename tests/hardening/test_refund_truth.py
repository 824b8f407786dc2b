"""`refund` on a cancelled booking is what was actually returned (finding 7): an accepted
but unpaid booking reported the policy's share (31500 EUR) although nothing was captured."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from documents import Payment
from tests.bookings.support import book_nights, pay, publish
from tests.conftest import Account


async def _accepted(client: httpx.AsyncClient, host: Account, guest: Account) -> dict:
    listing = await publish(client, host, rules={"instant_book": True})
    booking = await book_nights(client, guest, listing["id"], start=30, n=2)
    assert booking["status"] == "accepted", booking
    return booking


async def test_cancelling_an_unpaid_booking_refunds_nothing(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    booking = await _accepted(client, host, guest)
    r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=guest.headers)
    assert r.status_code == 200, r.text
    assert r.json()["refund"] == {"amount": 0, "currency": "EUR"}
    again = await client.get(f"/v1/bookings/{booking['id']}", headers=guest.headers)
    assert again.json()["refund"]["amount"] == 0


async def test_cancelling_a_paid_booking_reports_the_refund_made(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    booking = await _accepted(client, host, guest)
    await pay(client, app, guest, booking["id"])
    r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=host.headers)
    assert r.status_code == 200, r.text
    payment = await Payment.get_motor_collection().find_one({"booking_id": booking["id"]})
    assert payment["refunded_amount"] == booking["price"]["total"]["amount"]  # host: in full
    assert r.json()["refund"]["amount"] == payment["refunded_amount"]
