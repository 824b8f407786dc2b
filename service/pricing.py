"""Prices and refunds in integer minor units (shared by bookings and payments).

Rounding rule: every fee is a basis-point share of the subtotal rounded half up to a whole minor
unit, `(x * bps + 5000) // 10000`, computed ONCE; every other figure is a sum or difference of
already-rounded integers. So `total = subtotal + guest_fee` and
`host_payout = subtotal - commission` hold exactly, and the ledger legs built from them sum to
zero without any rounding remainder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from documents import BookingStatus, CancellationPolicy, PriceBreakdown
from documents.values import Money


def share(amount: int, bps: int) -> int:
    """`amount * bps / 10000`, rounded half up (amounts are never negative)."""
    return (amount * bps + 5000) // 10000


def breakdown(
    unit_price: Money, units: int, *, commission_bps: int, guest_fee_bps: int
) -> PriceBreakdown:
    cur = unit_price.currency
    subtotal = unit_price.amount * units
    fee = share(subtotal, guest_fee_bps)
    commission = share(subtotal, commission_bps)
    return PriceBreakdown(
        unit_price=unit_price,
        units=units,
        subtotal=Money(amount=subtotal, currency=cur),
        guest_fee=Money(amount=fee, currency=cur),
        commission=Money(amount=commission, currency=cur),
        total=Money(amount=subtotal + fee, currency=cur),
        host_payout=Money(amount=subtotal - commission, currency=cur),
    )


def refund_percent(
    policy: CancellationPolicy,
    start: datetime | None,
    now: datetime,
    *,
    by_host: bool,
) -> int:
    """Share of what the guest paid that goes back to them on cancellation.

    A host cancelling always refunds in full. Orders of items (no start) refund in full.
    flexible: 100 % until 24 h before the start, 0 after; moderate: 100 % until 5 days before,
    50 % after; strict: 50 % until 7 days before, 0 after.
    """
    if by_host or start is None:
        return 100
    lead = start - now
    if policy == CancellationPolicy.flexible:
        return 100 if lead >= timedelta(hours=24) else 0
    if policy == CancellationPolicy.moderate:
        return 100 if lead >= timedelta(days=5) else 50
    return 50 if lead >= timedelta(days=7) else 0


@dataclass(frozen=True)
class Split:
    """How a booking's payment ends up: refunded to the guest, kept by platform and host."""

    refund: int
    kept_fee: int
    kept_commission: int
    host: int

    @property
    def kept(self) -> int:
        return self.kept_fee + self.kept_commission + self.host


def split(price: PriceBreakdown, percent: int) -> Split:
    """Refund `percent` of the subtotal and of the guest fee (each rounded half up); the
    commission shrinks in proportion to what is kept. `refund + kept == total` exactly."""
    subtotal, fee, commission = (
        price.subtotal.amount,
        price.guest_fee.amount,
        price.commission.amount,
    )
    refunded_subtotal = share(subtotal, percent * 100)
    refunded_fee = share(fee, percent * 100)
    kept_subtotal = subtotal - refunded_subtotal
    kept_commission = min(share(commission, (100 - percent) * 100), kept_subtotal)
    return Split(
        refund=refunded_subtotal + refunded_fee,
        kept_fee=fee - refunded_fee,
        kept_commission=kept_commission,
        host=kept_subtotal - kept_commission,
    )


def money_split(status: BookingStatus, price: PriceBreakdown, refund_pct: int | None) -> Split:
    """Where a captured payment goes for a booking in `status` (refund-all when it never ran)."""
    if status == BookingStatus.completed:
        return split(price, 0)
    if status == BookingStatus.cancelled:
        return split(price, 100 if refund_pct is None else refund_pct)
    return split(price, 100)
