"""`marketplace ledger reconcile`: prove the ledger, the payments and the provider agree."""

from __future__ import annotations

from collections import defaultdict

from bson import ObjectId

from documents import BookingStatus, LedgerEntry, Payment, PaymentStatus, Payout, PayoutStatus
from service import parties
from service.payments import ledger
from service.payments.provider import IntentStatus, PaymentProvider
from service.payments.service import CAPTURED, PAYABLE, SETTLED
from service.pricing import money_split

_PROVIDER_STATE = {
    IntentStatus.requires_payment: {PaymentStatus.requires_payment},
    IntentStatus.failed: {PaymentStatus.failed},
    IntentStatus.succeeded: CAPTURED,
}


async def reconcile(provider: PaymentProvider) -> list[str]:
    """Every discrepancy found, as one human-readable line each (empty: all consistent)."""
    problems: list[str] = []
    for row in await ledger.unbalanced():
        problems.append(
            f"unbalanced transaction {row['txn_id']}: legs sum to {row['sum']} {row['currency']}"
        )

    # Ledger sums per payment and transaction kind ("capture:<id>", "refund:<id>").
    clearing: dict[str, int] = defaultdict(int)
    async for raw in LedgerEntry.get_motor_collection().find({"account": ledger.CLEARING}):
        clearing[raw["txn_id"]] += raw["amount"]

    async for raw in Payment.get_motor_collection().find({}):
        payment = Payment.model_validate(raw)
        pid = str(payment.id)
        captured = clearing.get(f"capture:{pid}", 0)
        refunded = -clearing.get(f"refund:{pid}", 0)
        if payment.status in CAPTURED and f"capture:{pid}" not in clearing:
            problems.append(f"payment {pid} is {payment.status.value} but has no capture entries")
        if payment.status not in CAPTURED and captured:
            problems.append(f"payment {pid} is {payment.status.value} but the ledger captured it")
        if refunded != payment.refunded_amount:
            problems.append(
                f"payment {pid} records {payment.refunded_amount} refunded, ledger {refunded}"
            )
        if payment.status in CAPTURED:
            problems += await _booking_money(payment, refunded)
        intent = await provider.get_intent(payment.provider_intent_id)
        if intent is None:
            problems.append(f"payment {pid}: provider has no intent {payment.provider_intent_id}")
            continue
        if payment.status not in _PROVIDER_STATE[intent.status]:
            problems.append(
                f"payment {pid} is {payment.status.value} but the provider says "
                f"{intent.status.value}"
            )
        if intent.amount_received != captured:
            problems.append(
                f"payment {pid}: provider received {intent.amount_received}, ledger captured "
                f"{captured}"
            )
        if intent.amount_refunded != refunded:
            problems.append(
                f"payment {pid}: provider refunded {intent.amount_refunded}, ledger {refunded}"
            )

    async for raw in Payout.get_motor_collection().find({}):
        payout = Payout.model_validate(raw)
        sent = -clearing.get(f"payout:{payout.id}", 0)
        if payout.status == PayoutStatus.paid and sent != payout.amount.amount:
            problems.append(
                f"payout {payout.id} is paid ({payout.amount.amount}) but the ledger sent {sent}"
            )
        if payout.status == PayoutStatus.pending and sent:
            problems.append(f"payout {payout.id} is pending but the ledger already sent {sent}")
    return problems


async def _booking_money(payment: Payment, refunded: int) -> list[str]:
    """A captured payment of a booking in a final state must be refunded/settled per its split
    (catches a crash between a booking's final transition and its money follow-up)."""
    booking = await parties.load(ObjectId(payment.booking_id))
    pid = str(payment.id)
    if booking is None:
        return [f"payment {pid}: booking {payment.booking_id} does not exist"]
    if booking.status in PAYABLE or booking.status == BookingStatus.pending:
        return []
    split = money_split(booking.status, booking.price, booking.refund_percent)
    problems: list[str] = []
    if refunded != split.refund:
        problems.append(
            f"payment {pid}: booking is {booking.status.value}, expected refund {split.refund}, "
            f"ledger refunded {refunded}"
        )
    if booking.status in SETTLED and split.kept:
        posted = await LedgerEntry.get_motor_collection().count_documents(
            {"txn_id": f"settle:{booking.id}"}
        )
        if not posted:
            problems.append(f"booking {booking.id} is {booking.status.value} but not settled")
    return problems
