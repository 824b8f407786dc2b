"""Payments API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from documents import Payment, PaymentStatus, Payout, PayoutStatus
from documents.values import Money, StrictModel
from service.payments.provider import Intent


class PaymentOut(BaseModel):
    id: str
    booking_id: str
    provider: str
    provider_intent_id: str
    client_secret: str
    amount: Money
    status: PaymentStatus
    refunded_amount: Money
    created_at: datetime

    @classmethod
    def of(cls, payment: Payment, intent: Intent) -> PaymentOut:
        return cls(
            id=str(payment.id),
            booking_id=payment.booking_id,
            provider=payment.provider,
            provider_intent_id=payment.provider_intent_id,
            client_secret=intent.client_secret,
            amount=payment.amount,
            status=payment.status,
            refunded_amount=Money(amount=payment.refunded_amount, currency=payment.amount.currency),
            created_at=payment.created_at,
        )


class PaymentStateOut(BaseModel):
    """A booking's payment as it stands: what was charged and what went back."""

    id: str
    booking_id: str
    provider: str
    status: PaymentStatus
    amount: Money
    refunded: Money
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentStateOut:
        return cls(
            id=str(payment.id),
            booking_id=payment.booking_id,
            provider=payment.provider,
            status=payment.status,
            amount=payment.amount,
            refunded=Money(amount=payment.refunded_amount, currency=payment.amount.currency),
            created_at=payment.created_at,
            updated_at=payment.updated_at,
        )


class ConfirmTestPaymentIn(StrictModel):
    """What a provider's client SDK sends when the customer pays (test mode)."""

    client_secret: str = Field(min_length=1, max_length=200)
    succeed: bool = Field(default=True, description="false simulates a declined card")


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool


class PayoutOut(BaseModel):
    id: str
    booking_id: str
    amount: Money
    status: PayoutStatus
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, p: Payout) -> PayoutOut:
        return cls(
            id=str(p.id),
            booking_id=p.booking_id,
            amount=p.amount,
            status=p.status,
            created_at=p.created_at,
            paid_at=p.paid_at,
        )


class PayoutTotals(BaseModel):
    """One currency's payouts: `paid` and `pending` are Money in that currency."""

    currency: str
    paid: Money
    pending: Money

    @classmethod
    def of(cls, currency: str, paid: int, pending: int) -> PayoutTotals:
        return cls(
            currency=currency,
            paid=Money(amount=paid, currency=currency),
            pending=Money(amount=pending, currency=currency),
        )


class PayoutPage(BaseModel):
    items: list[PayoutOut]
    totals: list[PayoutTotals]
    next_cursor: str | None = None
