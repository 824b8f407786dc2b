"""The double-entry ledger: append-only, balanced legs; balances are sums.

Accounts (signed minor units, legs of a transaction sum to zero per currency):
  provider:clearing       money held at the payment provider (+ on capture, - on refund/payout)
  guest:<id>              what a guest has paid that is not yet refunded or earned (- on capture)
  platform:revenue        commission earned (credited, i.e. negative)
  platform:fees           guest service fees earned (credited, i.e. negative)
  host_payable:<id>       owed to a host (credited on settlement, debited by the payout)

Transaction ids are deterministic ("capture:<payment>", "refund:<payment>", "settle:<booking>",
"payout:<payout>") and (txn_id, leg) is unique, so a retried step can never post twice.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo.errors import DuplicateKeyError

from documents import EntryKind, LedgerEntry

CLEARING = "provider:clearing"
REVENUE = "platform:revenue"
FEES = "platform:fees"


def guest_account(guest_id: str) -> str:
    return f"guest:{guest_id}"


def host_account(host_id: str) -> str:
    return f"host_payable:{host_id}"


class UnbalancedError(ValueError):
    pass


async def post(
    txn_id: str,
    kind: EntryKind,
    currency: str,
    legs: list[tuple[str, int]],
    *,
    booking_id: str | None = None,
    payment_id: str | None = None,
    category: str | None = None,
) -> bool:
    """Append a balanced transaction; True if any leg was new (False: already fully posted).

    Zero legs are dropped. Legs are inserted one by one and a duplicate (txn_id, leg) is skipped,
    so re-running a step after a crash in the middle completes the transaction exactly.
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if sum(amount for _, amount in legs) != 0:
        raise UnbalancedError(f"transaction {txn_id} does not balance: {legs}")
    wrote = False
    for leg, (account, amount) in enumerate(legs):
        entry = LedgerEntry(
            txn_id=txn_id,
            leg=leg,
            account=account,
            amount=amount,
            currency=currency,
            kind=kind,
            booking_id=booking_id,
            payment_id=payment_id,
            category=category,
        )
        try:
            await entry.insert()
            wrote = True
        except DuplicateKeyError:
            continue
    return wrote


async def balances(account_prefix: str | None = None) -> dict[tuple[str, str], int]:
    """(account, currency) -> balance, summed by an aggregation (nothing stored in place)."""
    pipeline: list[dict[str, Any]] = []
    if account_prefix is not None:
        pipeline.append({"$match": {"account": {"$regex": f"^{_escape(account_prefix)}"}}})
    pipeline.append(
        {"$group": {"_id": {"a": "$account", "c": "$currency"}, "total": {"$sum": "$amount"}}}
    )
    rows = await LedgerEntry.get_motor_collection().aggregate(pipeline).to_list(None)
    return {(r["_id"]["a"], r["_id"]["c"]): r["total"] for r in rows}


async def balance(account: str, currency: str) -> int:
    rows = (
        await LedgerEntry.get_motor_collection()
        .aggregate(
            [
                {"$match": {"account": account, "currency": currency}},
                {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
            ]
        )
        .to_list(None)
    )
    return rows[0]["total"] if rows else 0


async def unbalanced() -> list[dict[str, Any]]:
    """Transactions whose legs don't sum to zero in some currency."""
    rows = (
        await LedgerEntry.get_motor_collection()
        .aggregate(
            [
                {
                    "$group": {
                        "_id": {"t": "$txn_id", "c": "$currency"},
                        "total": {"$sum": "$amount"},
                        "legs": {"$sum": 1},
                    }
                },
                {"$match": {"total": {"$ne": 0}}},
                {"$sort": {"_id.t": 1}},
            ]
        )
        .to_list(None)
    )
    return [{"txn_id": r["_id"]["t"], "currency": r["_id"]["c"], "sum": r["total"]} for r in rows]


def _escape(prefix: str) -> str:
    return re.escape(prefix)
