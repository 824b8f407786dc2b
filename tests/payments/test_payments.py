"""Payments end to end: intents, signed webhooks (bad signature, replay window, duplicates),
the double-entry ledger through capture / refund per policy / settlement / payout, reconcile."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from bson import ObjectId
from fastapi import FastAPI
from typer.testing import CliRunner

from documents import AuditEvent, Booking, EntryKind, LedgerEntry, Payment, Payout
from service.cli import app as cli_app
from service.core.config import Settings
from service.payments import cli as payments_cli
from service.payments import ledger
from service.payments.reconcile import reconcile
from service.payments.service import pay_out_pending
from service.payments.signing import SIGNATURE_HEADER, sign
from service.pricing import split
from tests.bookings.support import (
    assert_ledger_balanced,
    book_nights,
    pay,
    provider_of,
    publish,
)
from tests.conftest import Account

pytestmark = pytest.mark.stores  # embedded and server tiers


def eur(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "EUR"}


async def _instant(client: httpx.AsyncClient, host: Account, **rules: object) -> str:
    listing = await publish(client, host, rules={"instant_book": True, **rules})
    return listing["id"]


async def test_pay_complete_payout_balances_every_account(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
) -> None:
    lid = await _instant(client, host)
    booking = await book_nights(client, guest, lid, start=10, n=3)
    price = booking["price"]
    total, fee, commission = (
        price["total"]["amount"],
        price["guest_fee"]["amount"],
        price["commission"]["amount"],
    )
    payment = await pay(client, app, guest, booking["id"])
    assert payment["amount"]["amount"] == total
    assert payment["refunded_amount"] == eur(0)  # every amount on the wire is Money
    raw = await Payment.get_motor_collection().find_one({})
    assert raw["status"] == "succeeded"
    assert await ledger.balance(ledger.CLEARING, "EUR") == total
    assert await ledger.balance(ledger.guest_account(guest.id), "EUR") == -total

    # Paying twice is refused.
    r = await client.post(f"/v1/bookings/{booking['id']}/payment", headers=guest.headers)
    assert r.status_code == 409

    clock(timedelta(days=14))
    r = await client.post(f"/v1/bookings/{booking['id']}/complete", headers=host.headers)
    assert r.status_code == 200
    assert await ledger.balance(ledger.guest_account(guest.id), "EUR") == 0
    assert await ledger.balance(ledger.REVENUE, "EUR") == -commission
    assert await ledger.balance(ledger.FEES, "EUR") == -fee
    host_share = price["host_payout"]["amount"]
    assert await ledger.balance(ledger.host_account(host.id), "EUR") == -host_share

    r = await client.get("/v1/payouts", headers=host.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(p["status"], p["amount"]["amount"]) for p in body["items"]] == [
        ("pending", host_share)
    ]
    assert body["totals"] == [{"currency": "EUR", "paid": eur(0), "pending": eur(host_share)}]

    assert await pay_out_pending() == 1
    assert await pay_out_pending() == 0  # nothing left; nothing posted twice
    body = (await client.get("/v1/payouts", headers=host.headers)).json()
    assert body["items"][0]["status"] == "paid" and body["items"][0]["paid_at"]
    assert body["totals"] == [{"currency": "EUR", "paid": eur(host_share), "pending": eur(0)}]
    assert await ledger.balance(ledger.host_account(host.id), "EUR") == 0
    # Payouts are sensitive: queuing and paying each leave exactly one audit event.
    events = await AuditEvent.find(AuditEvent.subject_id == host.id).to_list()
    assert sorted(e.action for e in events) == ["payout.created", "payout.paid"]
    assert {e.data["amount"] for e in events} == {host_share}
    # What stays at the provider is exactly the platform's earnings.
    assert await ledger.balance(ledger.CLEARING, "EUR") == fee + commission
    await assert_ledger_balanced()
    assert await reconcile(provider_of(app)) == []
    # Guests may not see payouts.
    assert (await client.get("/v1/payouts", headers=guest.headers)).status_code == 403


@pytest.mark.parametrize(
    ("policy", "days_ahead", "by", "percent"),
    [
        ("flexible", 30, "guest", 100),
        ("flexible", 0, "guest", 0),
        ("moderate", 30, "guest", 100),
        ("moderate", 3, "guest", 50),
        ("strict", 30, "guest", 50),
        ("strict", 3, "guest", 0),
        ("strict", 3, "host", 100),
    ],
)
async def test_cancellation_refunds_follow_policy(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    policy: str,
    days_ahead: int,
    by: str,
    percent: int,
) -> None:
    lid = await _instant(client, host, cancellation_policy=policy)
    start = max(days_ahead, 1)
    booking = await book_nights(client, guest, lid, start=start, n=2)
    await pay(client, app, guest, booking["id"])
    if days_ahead == 0:  # "within 24 h": pretend the stay starts in 2 hours
        import service.bookings.service as svc

        real = svc.utcnow
        svc.utcnow = lambda: real() + timedelta(days=1) - timedelta(hours=2)  # type: ignore[assignment]
    try:
        actor = host if by == "host" else guest
        r = await client.post(f"/v1/bookings/{booking['id']}/cancel", headers=actor.headers)
    finally:
        if days_ahead == 0:
            svc.utcnow = real  # type: ignore[assignment]
    assert r.status_code == 200, r.text
    from documents import PriceBreakdown

    expected = split(PriceBreakdown.model_validate(booking["price"]), percent)
    assert r.json()["refund"]["amount"] == expected.refund
    assert r.json()["cancelled_by"] == by
    payment = await Payment.get_motor_collection().find_one({})
    assert payment["refunded_amount"] == expected.refund
    intent = await provider_of(app).get_intent(payment["provider_intent_id"])
    assert intent is not None and intent.amount_refunded == expected.refund
    total = booking["price"]["total"]["amount"]
    assert await ledger.balance(ledger.CLEARING, "EUR") == total - expected.refund
    assert await ledger.balance(ledger.guest_account(guest.id), "EUR") == 0
    assert await ledger.balance(ledger.host_account(host.id), "EUR") == -expected.host
    payouts = await Payout.get_motor_collection().count_documents({})
    assert payouts == (1 if expected.host else 0)
    await assert_ledger_balanced()
    assert await reconcile(provider_of(app)) == []


async def test_payment_after_decline_is_refunded_in_full(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    booking = await book_nights(client, guest, listing["id"])
    r = await client.post(f"/v1/bookings/{booking['id']}/payment", headers=guest.headers)
    intent_id = r.json()["provider_intent_id"]
    assert (
        await client.post(f"/v1/bookings/{booking['id']}/decline", headers=host.headers)
    ).status_code == 200
    # The guest completes the payment at the provider only now.
    delivery = await provider_of(app).confirm(intent_id)
    w = await client.post("/v1/payments/webhook", content=delivery.body, headers=delivery.headers)
    assert w.status_code == 200
    payment = await Payment.get_motor_collection().find_one({})
    assert payment["status"] == "refunded"
    assert payment["refunded_amount"] == booking["price"]["total"]["amount"]
    assert await ledger.balance(ledger.CLEARING, "EUR") == 0
    await assert_ledger_balanced()
    assert await reconcile(provider_of(app)) == []


async def _intent_event(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> tuple[str, bytes, dict[str, str]]:
    lid = await _instant(client, host)
    booking = await book_nights(client, guest, lid)
    r = await client.post(f"/v1/bookings/{booking['id']}/payment", headers=guest.headers)
    delivery = await provider_of(app).confirm(r.json()["provider_intent_id"])
    return booking["id"], delivery.body, delivery.headers


async def test_webhook_rejects_bad_signatures_and_old_timestamps(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account, settings: object
) -> None:
    _, body, headers = await _intent_event(client, app, host, guest)
    secret = provider_of(app).secret
    url = "/v1/payments/webhook"
    cases = {
        "missing": {"Content-Type": "application/json"},
        "garbage": {SIGNATURE_HEADER: "nonsense"},
        "wrong secret": {SIGNATURE_HEADER: sign("another-secret", body)},
        "old": {SIGNATURE_HEADER: sign(secret, body, int(time.time()) - 301)},
        "future": {SIGNATURE_HEADER: sign(secret, body, int(time.time()) + 3600)},
    }
    for name, h in cases.items():
        r = await client.post(url, content=body, headers=h)
        assert r.status_code == 400, name
        assert r.headers["content-type"].startswith("application/problem+json"), name
    tampered = body.replace(b'"amount":', b'"amount":1', 1)
    r = await client.post(url, content=tampered, headers=headers)
    assert r.status_code == 400
    # Nothing was recorded or booked by any of those.
    assert await LedgerEntry.get_motor_collection().count_documents({}) == 0
    # Signed within the window (4 minutes old): accepted.
    r = await client.post(
        url, content=body, headers={SIGNATURE_HEADER: sign(secret, body, int(time.time()) - 240)}
    )
    assert r.status_code == 200 and r.json() == {"received": True, "duplicate": False}


async def test_duplicate_webhook_deliveries_apply_once(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    _, body, headers = await _intent_event(client, app, host, guest)
    url = "/v1/payments/webhook"
    first = await client.post(url, content=body, headers=headers)
    assert first.json()["duplicate"] is False
    entries = await LedgerEntry.get_motor_collection().count_documents({})
    assert entries == 2
    results = await asyncio.gather(
        *(client.post(url, content=body, headers=headers) for _ in range(10))
    )
    assert all(r.status_code == 200 and r.json()["duplicate"] for r in results)
    assert await LedgerEntry.get_motor_collection().count_documents({}) == entries
    await assert_ledger_balanced()
    # A malformed (but correctly signed) body is a 400, not a crash.
    junk = b'{"hello": "world"}'
    r = await client.post(
        url, content=junk, headers={SIGNATURE_HEADER: sign(provider_of(app).secret, junk)}
    )
    assert r.status_code == 400


async def test_concurrent_first_deliveries_capture_once(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    _, body, headers = await _intent_event(client, app, host, guest)
    results = await asyncio.gather(
        *(client.post("/v1/payments/webhook", content=body, headers=headers) for _ in range(10))
    )
    assert all(r.status_code == 200 for r in results)
    captures = await LedgerEntry.get_motor_collection().count_documents({"kind": "capture"})
    assert captures == 2
    assert await reconcile(provider_of(app)) == []


async def test_reconcile_catches_discrepancies(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    lid = await _instant(client, host)
    booking = await book_nights(client, guest, lid)
    await pay(client, app, guest, booking["id"])
    provider = provider_of(app)
    assert await reconcile(provider) == []

    await LedgerEntry(
        txn_id="injected", leg=0, account=ledger.REVENUE, amount=-7, currency="EUR",
        kind=EntryKind.commission,
    ).insert()  # fmt: skip
    problems = await reconcile(provider)
    assert any("unbalanced transaction injected" in p for p in problems)
    await LedgerEntry.get_motor_collection().delete_many({"txn_id": "injected"})
    assert await reconcile(provider) == []

    # A completed booking whose settlement never got posted (crash after the transition).
    await Booking.get_motor_collection().update_one(
        {"_id": ObjectId(booking["id"])}, {"$set": {"status": "completed"}}
    )
    problems = await reconcile(provider)
    assert problems == [f"booking {booking['id']} is completed but not settled"]
    await Booking.get_motor_collection().update_one(
        {"_id": ObjectId(booking["id"])}, {"$set": {"status": "accepted"}}
    )

    # A captured payment whose capture entries are missing, and provider-vs-ledger mismatch.
    await LedgerEntry.get_motor_collection().delete_many({"kind": "capture"})
    problems = await reconcile(provider)
    assert any("has no capture entries" in p for p in problems)
    assert any("provider received" in p for p in problems)


async def test_cli_reconcile_exit_codes(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`marketplace ledger reconcile` on the app's store: 0 when clean, 1 and the lines when not.
    Embedded: in a thread on the app's own mongomock client (the command drives its own event
    loop with asyncio.run). Server: the real command, as a process, against the same database."""
    settings: Settings = app.state.settings
    lid = await _instant(client, host)
    await pay(client, app, guest, (await book_nights(client, guest, lid))["id"])
    monkeypatch.setattr(payments_cli, "make_client", lambda _settings: app.state.mongo_client)
    monkeypatch.setattr(payments_cli, "get_settings", lambda: settings)

    async def reconcile_cmd() -> tuple[int, str]:
        if settings.embedded_mongo:
            result = await asyncio.to_thread(CliRunner().invoke, cli_app, ["ledger", "reconcile"])
            return result.exit_code, result.output
        env = {
            **os.environ,
            "MONGODB_URL": str(settings.mongodb_url),
            "MONGODB_DATABASE": settings.mongodb_database,
            "WEBHOOK_SECRET": settings.webhook_secret.get_secret_value(),
            "CURSOR_SECRET": settings.cursor_secret.get_secret_value(),
        }
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("marketplace")), "ledger", "reconcile",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        return int(proc.returncode or 0), out.decode()

    code, output = await reconcile_cmd()
    assert code == 0, output
    assert "no discrepancies" in output

    await LedgerEntry(
        txn_id="bad-txn", leg=0, account=ledger.CLEARING, amount=5, currency="EUR",
        kind=EntryKind.capture,
    ).insert()  # fmt: skip
    code, output = await reconcile_cmd()
    assert code == 1, output
    assert "unbalanced transaction bad-txn" in output


async def test_unknown_event_types_are_acknowledged(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = orjson.dumps({"id": "evt_x", "type": "charge.dispute.created", "data": {"object": {}}})
    headers = {SIGNATURE_HEADER: sign(provider_of(app).secret, body)}
    r = await client.post("/v1/payments/webhook", content=body, headers=headers)
    assert r.status_code == 200
    assert await LedgerEntry.get_motor_collection().count_documents({}) == 0
