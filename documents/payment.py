"""Payments (provider intents), provider webhook events, payouts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import Money, utcnow


class PaymentStatus(StrEnum):
    requires_payment = "requires_payment"
    succeeded = "succeeded"
    failed = "failed"
    refunded = "refunded"
    partially_refunded = "partially_refunded"


class Payment(Document):
    booking_id: str
    guest_id: str
    provider: str
    provider_intent_id: str
    amount: Money
    refunded_amount: int = 0
    status: PaymentStatus = PaymentStatus.requires_payment
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "payments"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("provider_intent_id", 1)], unique=True, name="intent_unique"),
            pymongo.IndexModel([("booking_id", 1)], name="booking"),
        ]


class ProviderEvent(Document):
    """Each webhook event is processed once: the unique event id is the guard."""

    event_id: str
    type: str
    payload: dict
    received_at: datetime = Field(default_factory=utcnow)
    # None until its effects are applied; a redelivery of an unprocessed event re-applies them
    # (every effect is itself idempotent), a redelivery of a processed one is a no-op.
    processed_at: datetime | None = None

    class Settings:
        name = "provider_events"
        use_state_management = False
        indexes = [pymongo.IndexModel([("event_id", 1)], unique=True, name="event_unique")]


class PayoutStatus(StrEnum):
    pending = "pending"
    paid = "paid"


class Payout(Document):
    host_id: str
    booking_id: str
    amount: Money
    status: PayoutStatus = PayoutStatus.pending
    created_at: datetime = Field(default_factory=utcnow)
    paid_at: datetime | None = None

    class Settings:
        name = "payouts"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("booking_id", 1)], unique=True, name="booking_unique"),
            pymongo.IndexModel([("host_id", 1), ("created_at", -1)], name="host_recent"),
        ]
