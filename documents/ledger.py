"""Double-entry, append-only ledger. A transaction's entries sum to zero per currency."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import Currency, utcnow


class EntryKind(StrEnum):
    capture = "capture"
    commission = "commission"
    refund = "refund"
    payout = "payout"


class LedgerEntry(Document):
    txn_id: str  # groups the balanced legs of one movement
    leg: int  # position within the transaction; (txn_id, leg) is unique, so replays can't double
    account: str  # e.g. "guest:<id>", "platform:revenue", "host_payable:<id>", "provider:clearing"
    amount: int  # signed minor units; a transaction's legs sum to 0
    currency: Currency
    kind: EntryKind
    booking_id: str | None = None
    payment_id: str | None = None
    category: str | None = None  # denormalised from the booking for revenue reports
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "ledger_entries"
        use_state_management = False
        indexes = [
            pymongo.IndexModel([("txn_id", 1), ("leg", 1)], unique=True, name="txn_leg_unique"),
            pymongo.IndexModel([("account", 1), ("created_at", 1)], name="account_time"),
            pymongo.IndexModel([("booking_id", 1)], name="booking"),
            pymongo.IndexModel([("created_at", 1)], name="created_at"),
            pymongo.IndexModel([("payment_id", 1)], name="payment"),
        ]
