"""Prices and refunds in integer minor units (shared by bookings and payments).

Rounding rule: every fee is a basis-point share rounded half up to a whole minor unit,
`(x * bps + 5000) // 10000`, computed ONCE; every other figure is a sum or difference of
already-rounded integers. A stay's discount is such a share of the subtotal
(`documents.listing.stay_charge`); `charged = subtotal - discount + cleaning_fee`; the guest fee
and the commission are shares of `charged`. So `total = charged + guest_fee` and
`host_payout = charged - commission` hold exactly, and the ledger legs built from them sum to
zero without any rounding remainder.

`breakdown` is the one price function: bookings charge it and search quotes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from documents import BookingStatus, CancellationPolicy, PriceBreakdown, Pricing
from documents.listing import stay_charge
from documents.values import Money


def share(amount: int, bps: int) -> int:
    """`amount * bps / 10000`, rounded half up (amounts are never negative)."""
    return (amount * bps + 5000) // 10000


def guest_total(charged: int, guest_fee_bps: int) -> int:
    """What the guest pays for a stay that costs `charged` before the guest fee.

    Strictly increasing in `charged` (one more minor unit adds one plus a non-negative change
    of the rounded fee), which is what lets search bound and sort totals by `charged`.
    """
    return charged + share(charged, guest_fee_bps)


def max_charged(total: int, guest_fee_bps: int) -> int:
    """The largest `charged` whose guest total is <= `total` (-1 when none): exact inverse of
    the strictly increasing `guest_total`, so `guest_total(c) <= total <=> c <= max_charged`."""
    c = total * 10_000 // (10_000 + guest_fee_bps)
    while c > 0 and guest_total(c, guest_fee_bps) > total:
        c -= 1
    while guest_total(c + 1, guest_fee_bps) <= total:
        c += 1
    return c if guest_total(c, guest_fee_bps) <= total else -1


def min_charged(total: int, guest_fee_bps: int) -> int:
    """The smallest `charged` whose guest total is >= `total`."""
    return max_charged(total - 1, guest_fee_bps) + 1 if total > 0 else 0


def breakdown(
    unit_price: Money,
    units: int,
    *,
    commission_bps: int,
    guest_fee_bps: int,
    pricing: Pricing | None = None,
) -> PriceBreakdown:
    """The price of `units` at `unit_price`; `pricing` (night stays) adds the stay's discount
    and cleaning fee."""
    cur = unit_price.currency
    p = pricing or Pricing()
    subtotal, discount, cleaning = stay_charge(
        unit_price.amount,
        units,
        cleaning_fee=p.cleaning_fee.amount if p.cleaning_fee else 0,
        weekly_bps=p.weekly_discount_bps,
        monthly_bps=p.monthly_discount_bps,
    )
    charged = subtotal - discount + cleaning
    fee = share(charged, guest_fee_bps)
    commission = share(charged, commission_bps)
    return PriceBreakdown(
        unit_price=unit_price,
        units=units,
        subtotal=Money(amount=subtotal, currency=cur),
        discount=Money(amount=discount, currency=cur),
        cleaning_fee=Money(amount=cleaning, currency=cur),
        guest_fee=Money(amount=fee, currency=cur),
        commission=Money(amount=commission, currency=cur),
        total=Money(amount=charged + fee, currency=cur),
        host_payout=Money(amount=charged - commission, currency=cur),
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
    """Refund `percent` of the charged amount (subtotal - discount + cleaning fee) and of the
    guest fee (each rounded half up); the commission shrinks in proportion to what is kept.
    `refund + kept == total` exactly."""
    subtotal, fee, commission = (
        price.charged,
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
