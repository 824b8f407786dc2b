"""Payment intents, webhook processing, refunds, settlement and payouts.

Every money step is written so a crash at any point can be re-run to completion:
provider call (idempotency key) -> ledger post (deterministic txn id, unique legs) -> state flip
(conditional update). Redoing a step that already happened changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import (
    Booking,
    BookingStatus,
    EntryKind,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    ProviderEvent,
    User,
)
from documents.values import Money, utcnow
from service import audit, parties
from service.core.config import Settings
from service.core.errors import ProblemError, conflict, not_found
from service.core.pagination import After, before
from service.payments import ledger
from service.payments.provider import (
    BuiltinProvider,
    Intent,
    IntentStatus,
    PaymentProvider,
    ProviderError,
)
from service.payments.signing import SIGNATURE_HEADER, SignatureError, verify
from service.pricing import money_split

log = logging.getLogger(__name__)

CAPTURED = {PaymentStatus.succeeded, PaymentStatus.partially_refunded, PaymentStatus.refunded}
PAYABLE = {BookingStatus.requested, BookingStatus.accepted}
SETTLED = {BookingStatus.completed, BookingStatus.cancelled}


async def _payments_of(booking_id: str) -> list[Payment]:
    cursor = Payment.get_motor_collection().find({"booking_id": booking_id}).sort("created_at", 1)
    return [Payment.model_validate(raw) async for raw in cursor]


def _current(payments: list[Payment]) -> Payment | None:
    """The payment that speaks for a booking: the captured one, else the newest attempt."""
    captured = [p for p in payments if p.status in CAPTURED]
    if captured:
        return captured[0]
    return payments[-1] if payments else None


async def payment_of(user: User, *, booking_id: ObjectId) -> Payment | None:
    """The booking's payment as either party sees it; None when it was never paid."""
    booking = await parties.visible(booking_id, user)
    return _current(await _payments_of(str(booking.id)))


async def payment_statuses(booking_ids: list[str]) -> dict[str, PaymentStatus]:
    """Per booking id, the status of its current payment (absent: never paid). One query."""
    by_booking: dict[str, list[Payment]] = {}
    cursor = (
        Payment.get_motor_collection()
        .find({"booking_id": {"$in": booking_ids}})
        .sort("created_at", 1)
    )
    async for raw in cursor:
        p = Payment.model_validate(raw)
        by_booking.setdefault(p.booking_id, []).append(p)
    out: dict[str, PaymentStatus] = {}
    for bid, payments in by_booking.items():
        current = _current(payments)
        if current is not None:
            out[bid] = current.status
    return out


async def create_payment(
    provider: PaymentProvider, user: User, *, booking_id: ObjectId
) -> tuple[Payment, Intent]:
    """One live intent per booking: a second call returns the open one; a paid booking is 409.
    Only the booking's guest pays."""
    booking = await parties.as_guest(booking_id, user)
    if booking.status not in PAYABLE:
        raise conflict(f"a {booking.status.value} booking cannot be paid")
    payments = await _payments_of(str(booking.id))
    if any(p.status in CAPTURED for p in payments):
        raise conflict("this booking is already paid")
    for p in payments:
        if p.status == PaymentStatus.requires_payment:
            intent = await provider.get_intent(p.provider_intent_id)
            if intent is not None:
                return p, intent
    failed = sum(1 for p in payments if p.status == PaymentStatus.failed)
    total = booking.price.total
    intent = await provider.create_intent(
        total.amount,
        total.currency,
        {"booking_id": str(booking.id)},
        idempotency_key=f"booking:{booking.id}:{failed}",
    )
    payment = Payment(
        booking_id=str(booking.id),
        guest_id=booking.guest_id,
        provider=provider.name,
        provider_intent_id=intent.id,
        amount=total,
    )
    try:
        await payment.insert()
    except DuplicateKeyError:
        raw = await Payment.get_motor_collection().find_one({"provider_intent_id": intent.id})
        payment = Payment.model_validate(raw)
    return payment, intent


# --- webhooks -------------------------------------------------------------------------------


def _bad_request(detail: str) -> ProblemError:
    return ProblemError(400, detail, errors=[{"loc": ["header", SIGNATURE_HEADER], "msg": detail}])


async def handle_webhook(
    provider: PaymentProvider, *, secret: str, tolerance_s: int, body: bytes, signature: str | None
) -> dict[str, Any]:
    """Verify, record once by event id, apply. A redelivery of a processed event is a no-op."""
    try:
        verify(secret, signature, body, tolerance_s=tolerance_s)
    except SignatureError as exc:
        raise _bad_request(str(exc)) from None
    try:
        event = orjson.loads(body)
        event_id, kind, obj = event["id"], event["type"], event["data"]["object"]
        if not isinstance(event_id, str) or not isinstance(kind, str) or not isinstance(obj, dict):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ProblemError(
            400, "malformed event", errors=[{"loc": ["body"], "msg": "not a provider event"}]
        ) from None
    try:
        await ProviderEvent(event_id=event_id, type=kind, payload=event).insert()
    except DuplicateKeyError:
        raw = await ProviderEvent.get_motor_collection().find_one({"event_id": event_id})
        if raw is not None and raw.get("processed_at") is not None:
            return {"received": True, "duplicate": True}
        # Recorded but not processed (a crash, or a concurrent delivery): the effects below are
        # idempotent, so applying them again is safe and finishes the job.
    await _apply(provider, kind, obj)
    await ProviderEvent.get_motor_collection().update_one(
        {"event_id": event_id}, {"$set": {"processed_at": utcnow()}}
    )
    return {"received": True, "duplicate": False}


async def _apply(provider: PaymentProvider, kind: str, obj: dict[str, Any]) -> None:
    intent_id = obj.get("id")
    if not isinstance(intent_id, str):
        return
    raw = await Payment.get_motor_collection().find_one({"provider_intent_id": intent_id})
    if raw is None:
        log.warning("webhook %s for unknown intent %s", kind, intent_id)
        return
    payment = Payment.model_validate(raw)
    # Trust the provider's own record, not the event body, for amounts and state.
    intent = await provider.get_intent(intent_id)
    if intent is None:
        return
    if kind == "payment_intent.succeeded" and intent.status == IntentStatus.succeeded:
        await capture(payment, intent.amount_received)
        booking = await parties.load(ObjectId(payment.booking_id))
        if booking is not None:
            await settle_money(provider, booking)
    elif kind == "payment_intent.payment_failed" and intent.status == IntentStatus.failed:
        await Payment.get_motor_collection().update_one(
            {"_id": payment.id, "status": PaymentStatus.requires_payment.value},
            {"$set": {"status": PaymentStatus.failed.value, "updated_at": utcnow()}},
        )


async def capture(payment: Payment, received: int) -> None:
    booking = await parties.load(ObjectId(payment.booking_id))
    await ledger.post(
        f"capture:{payment.id}",
        EntryKind.capture,
        payment.amount.currency,
        [(ledger.CLEARING, received), (ledger.guest_account(payment.guest_id), -received)],
        booking_id=payment.booking_id,
        payment_id=str(payment.id),
        category=booking.category if booking else None,
    )
    await Payment.get_motor_collection().update_one(
        {"_id": payment.id, "status": PaymentStatus.requires_payment.value},
        {"$set": {"status": PaymentStatus.succeeded.value, "updated_at": utcnow()}},
    )


# --- test mode: the customer's side of the built-in provider --------------------------------


async def confirm_test_payment(
    provider: PaymentProvider, settings: Settings, *, client_secret: str, succeed: bool
) -> Payment:
    """Pay (or fail to pay) an intent by its client secret, as a real provider's client SDK
    would, and deliver the provider's signed webhook through the ordinary webhook handling
    (signature check, once per event id). Only the built-in provider has a test mode: with any
    other provider this does not exist (404)."""
    if settings.payment_provider != "builtin" or not isinstance(provider, BuiltinProvider):
        raise not_found("test-mode payments")
    intent = await provider.intent_by_client_secret(client_secret)
    if intent is None:
        raise not_found("payment")
    try:
        delivery = await provider.confirm(intent.id, succeed=succeed)
    except ProviderError:
        raise conflict(
            "this payment is not awaiting confirmation", current_status=intent.status.value
        ) from None
    await handle_webhook(
        provider,
        secret=settings.webhook_secret.get_secret_value(),
        tolerance_s=settings.webhook_tolerance_s,
        body=delivery.body,
        signature=delivery.headers[SIGNATURE_HEADER],
    )
    raw = await Payment.get_motor_collection().find_one({"provider_intent_id": intent.id})
    if raw is None:  # the intent was not created by this marketplace
        raise not_found("payment")
    return Payment.model_validate(raw)


# --- refunds and settlement -------------------------------------------------------------------


async def settle_money(provider: PaymentProvider, booking: Booking) -> None:
    """Bring the money of `booking` in line with its status; safe to call any number of times.

    Live bookings (requested/accepted) keep the payment as is. Declined/expired/failed refund in
    full. Cancelled refunds the frozen policy share and settles the rest; completed settles all.
    Settling credits platform revenue/fees and the host's payable, and queues a payout.
    """
    if booking.status in PAYABLE or booking.status == BookingStatus.pending:
        return
    payment = next((p for p in await _payments_of(str(booking.id)) if p.status in CAPTURED), None)
    if payment is None:
        return
    cur = payment.amount.currency
    split = money_split(booking.status, booking.price, booking.refund_percent)
    if split.refund > 0:
        await refund(provider, payment, booking, split.refund)
    if booking.status not in SETTLED or split.kept == 0:
        return
    await ledger.post(
        f"settle:{booking.id}",
        EntryKind.commission,
        cur,
        [
            (ledger.guest_account(booking.guest_id), split.kept),
            (ledger.FEES, -split.kept_fee),
            (ledger.REVENUE, -split.kept_commission),
            (ledger.host_account(booking.host_id), -split.host),
        ],
        booking_id=str(booking.id),
        payment_id=str(payment.id),
        category=booking.category,
    )
    if split.host > 0:
        payout = Payout(
            host_id=booking.host_id,
            booking_id=str(booking.id),
            amount=Money(amount=split.host, currency=cur),
        )
        try:
            await payout.insert()
        except DuplicateKeyError:
            return  # queued by an earlier run: audited then
        await audit.record(
            audit.PAYOUT_CREATED,
            subject_id=booking.host_id,
            payout_id=str(payout.id),
            booking_id=str(booking.id),
            amount=split.host,
            currency=cur,
        )


async def refund(
    provider: PaymentProvider, payment: Payment, booking: Booking, amount: int
) -> None:
    """One refund per payment (a booking reaches its final state once)."""
    await provider.refund(
        payment.provider_intent_id, amount, idempotency_key=f"refund:{payment.id}"
    )
    await ledger.post(
        f"refund:{payment.id}",
        EntryKind.refund,
        payment.amount.currency,
        [(ledger.guest_account(payment.guest_id), amount), (ledger.CLEARING, -amount)],
        booking_id=str(booking.id),
        payment_id=str(payment.id),
        category=booking.category,
    )
    status = (
        PaymentStatus.refunded
        if amount >= payment.amount.amount
        else PaymentStatus.partially_refunded
    )
    await Payment.get_motor_collection().update_one(
        {"_id": payment.id, "refunded_amount": 0},
        {"$set": {"refunded_amount": amount, "status": status.value, "updated_at": utcnow()}},
    )
    await parties.record_refund(str(booking.id), amount, payment.amount.currency)


# --- payouts -----------------------------------------------------------------------------------


async def pay_out_pending(host_id: str | None = None, limit: int = 1000) -> int:
    """Transfer pending payouts to hosts: post the ledger first, then flip to paid, so a crash in
    between is finished by the next run (the post is a no-op the second time)."""
    query: dict[str, Any] = {"status": PayoutStatus.pending.value}
    if host_id is not None:
        query["host_id"] = host_id
    paid = 0
    cursor = Payout.get_motor_collection().find(query).sort("created_at", 1).limit(limit)
    for raw in await cursor.to_list(None):
        payout = Payout.model_validate(raw)
        amount = payout.amount.amount
        await ledger.post(
            f"payout:{payout.id}",
            EntryKind.payout,
            payout.amount.currency,
            [(ledger.host_account(payout.host_id), amount), (ledger.CLEARING, -amount)],
            booking_id=payout.booking_id,
        )
        flipped = await Payout.get_motor_collection().find_one_and_update(
            {"_id": payout.id, "status": PayoutStatus.pending.value},
            {"$set": {"status": PayoutStatus.paid.value, "paid_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        )
        if flipped is not None:
            paid += 1
            await audit.record(
                audit.PAYOUT_PAID,
                subject_id=payout.host_id,
                payout_id=str(payout.id),
                amount=amount,
                currency=payout.amount.currency,
            )
    return paid


async def payouts_page(
    user: User, *, limit: int, after: After | None
) -> tuple[list[Payout], list[dict[str, Any]]]:
    """The host's payouts, newest first, and their totals per currency and status."""
    host_id = str(user.id)
    query: dict[str, Any] = {"host_id": host_id, **before("created_at", after)}
    cursor = (
        Payout.get_motor_collection()
        .find(query)
        .sort([("created_at", -1), ("_id", -1)])
        .limit(limit + 1)
    )
    rows = [Payout.model_validate(raw) async for raw in cursor]
    totals = (
        await Payout.get_motor_collection()
        .aggregate(
            [
                {"$match": {"host_id": host_id}},
                {
                    "$group": {
                        "_id": {"s": "$status", "c": "$amount.currency"},
                        "total": {"$sum": "$amount.amount"},
                    }
                },
                {"$sort": {"_id.c": 1}},
            ]
        )
        .to_list(None)
    )
    by_currency: dict[str, dict[str, Any]] = {}
    for r in totals:
        cur = r["_id"]["c"]
        row = by_currency.setdefault(cur, {"currency": cur, "paid": 0, "pending": 0})
        row[r["_id"]["s"]] = r["total"]
    return rows, list(by_currency.values())
