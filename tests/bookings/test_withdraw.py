"""Issue #5: a guest withdraws a booking request. It ends `withdrawn`, nothing is refunded
(nothing was charged), and the nights are free again at once, so the same guest (or anyone) can
book them straight away instead of waiting for the request to expire."""

from __future__ import annotations

import httpx
import pytest

from tests.bookings.support import (
    assert_availability_matches_bookings,
    book,
    book_nights,
    future_day,
    listing_doc,
    publish,
)
from tests.conftest import Account

pytestmark = pytest.mark.stores  # embedded and server tiers


async def test_guest_withdraws_a_request_and_the_nights_are_free_at_once(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)  # request-only (instant_book false)
    lid = listing["id"]
    booking = await book_nights(client, guest, lid, start=20, n=2)
    assert booking["status"] == "requested"
    # The nights are taken while the request stands.
    again = await book(client, guest, lid, check_in=future_day(20), check_out=future_day(22))
    assert again.status_code == 409, again.text

    r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=guest.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "withdrawn"
    assert body["cancelled_by"] == "guest"
    assert body["refund"] is None  # no policy applies: nothing was charged, nothing refunded
    assert body["expires_at"] is None
    assert body["payment_status"] == "none"
    doc = await listing_doc(lid)
    assert doc.availability.holds == []
    await assert_availability_matches_bookings(lid)

    nights = await client.get(
        f"/v1/listings/{lid}/availability",
        params={"from": future_day(20).isoformat(), "to": future_day(22).isoformat()},
    )
    assert [n["status"] for n in nights.json()["nights"]] == ["free", "free"]
    rebooked = await book(client, guest, lid, check_in=future_day(20), check_out=future_day(22))
    assert rebooked.status_code == 201, rebooked.text

    # Withdrawn is final: a second withdraw, or the host accepting it, is 409.
    r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=guest.headers)
    assert r.status_code == 409
    assert r.json()["current_status"] == "withdrawn"
    r = await client.post(f"/v1/bookings/{booking['id']}/accept", headers=host.headers)
    assert r.status_code == 409


async def test_host_declines_rather_than_cancels_a_request(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    booking = await book_nights(client, guest, listing["id"])
    r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=host.headers)
    assert r.status_code == 409
    assert r.json()["current_status"] == "requested"
