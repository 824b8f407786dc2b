"""Privacy API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

Rows = list[dict[str, Any]]


class ExportOut(BaseModel):
    """Everything held about the caller. Secrets (password hash, session tokens) are not data
    about the person and are never exported."""

    profile: dict[str, Any]
    listings: Rows
    bookings_as_guest: Rows
    bookings_as_host: Rows
    reviews: Rows
    conversations: Rows
    messages: Rows
    payments: Rows
    payouts: Rows
    ledger_entries: Rows
    audit_events: Rows
    wishlist: Rows
    saved_searches: Rows
    notifications: Rows
    exported_at: datetime


class ErasureOut(BaseModel):
    status: str
    erased: dict[str, int]
