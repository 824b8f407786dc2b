"""Issue #6: a payment that was started can be seen, and completed without a real PSP.

`GET /v1/bookings/{booking_id}/payment` shows it (404 before there is one), bookings carry
`payment_status`, and the built-in provider's test-mode confirmation (`POST
/v1/payments/test/confirm {client_secret}`) pays it through the signed webhook path, so the
embedded default runs a whole payment flow over HTTP alone."""

from __future__ import annotations

import httpx
import pytest

from documents import ProviderEvent
from tests.bookings.support import assert_ledger_balanced, book_nights, publish
from tests.conftest import Account

pytestmark = pytest.mark.stores  # embedded and server tiers


async def test_pay_over_http_alone_and_see_payment_and_refund(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(
        client, host, rules={"instant_book": True, "cancellation_policy": "moderate"}
    )
    booking = await book_nights(client, guest, listing["id"], start=30, n=2)
    bid = booking["id"]
    assert booking["status"] == "accepted" and booking["payment_status"] == "none"
    r = await client.get(f"/v1/bookings/{bid}/payment", headers=guest.headers)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")

    started = await client.post(f"/v1/bookings/{bid}/payment", headers=guest.headers)
    assert started.status_code == 201, started.text
    assert started.headers["Location"] == f"/v1/bookings/{bid}/payment"
    secret = started.json()["client_secret"]
    seen = await client.get(f"/v1/bookings/{bid}/payment", headers=guest.headers)
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "requires_payment"
    got = await client.get(f"/v1/bookings/{bid}", headers=guest.headers)
    assert got.json()["payment_status"] == "requires_payment"

    # The customer pays with the client secret, as a provider's client SDK would.
    paid = await client.post("/v1/payments/test/confirm", json={"client_secret": secret})
    assert paid.status_code == 200, paid.text
    total = booking["price"]["total"]
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["amount"] == total
    assert paid.json()["refunded"] == {"amount": 0, "currency": total["currency"]}
    # ... through the ordinary webhook path: the signed event was recorded and processed once.
    events = await ProviderEvent.get_motor_collection().find({}).to_list(None)
    assert [e["type"] for e in events] == ["payment_intent.succeeded"]
    assert events[0]["processed_at"] is not None
    for who in (guest, host):
        view = await client.get(f"/v1/bookings/{bid}/payment", headers=who.headers)
        assert view.status_code == 200 and view.json()["status"] == "succeeded"
        listed = await client.get(
            "/v1/bookings", params={"as": "guest" if who is guest else "host"}, headers=who.headers
        )
        assert [b["payment_status"] for b in listed.json()["items"]] == ["succeeded"]
    again = await client.post("/v1/payments/test/confirm", json={"client_secret": secret})
    assert again.status_code == 409

    cancelled = await client.post(f"/v1/bookings/{bid}/cancel", headers=guest.headers)
    assert cancelled.status_code == 200, cancelled.text
    refund = cancelled.json()["refund"]
    after = (await client.get(f"/v1/bookings/{bid}/payment", headers=guest.headers)).json()
    assert after["refunded"] == refund and refund["amount"] > 0
    assert after["status"] in ("refunded", "partially_refunded")
    assert cancelled.json()["payment_status"] == after["status"]
    await assert_ledger_balanced()


async def test_confirm_unknown_secret_is_404_and_decline_is_failed(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    r = await client.post("/v1/payments/test/confirm", json={"client_secret": "pi_secret_nope"})
    assert r.status_code == 404
    listing = await publish(client, host, rules={"instant_book": True})
    booking = await book_nights(client, guest, listing["id"])
    started = await client.post(f"/v1/bookings/{booking['id']}/payment", headers=guest.headers)
    secret = started.json()["client_secret"]
    failed = await client.post(
        "/v1/payments/test/confirm", json={"client_secret": secret, "succeed": False}
    )
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    got = await client.get(f"/v1/bookings/{booking['id']}", headers=guest.headers)
    assert got.json()["payment_status"] == "failed"
