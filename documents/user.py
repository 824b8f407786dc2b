"""Accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


class Role(StrEnum):
    guest = "guest"
    host = "host"
    admin = "admin"


class User(Document):
    email: str  # stored lower-cased; unique
    password_hash: str
    display_name: str
    roles: list[Role] = Field(default_factory=lambda: [Role.guest])
    bio: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Set by GDPR erasure: the record stays for bookings/ledger, personal data is gone.
    erased_at: datetime | None = None

    class Settings:
        name = "users"
        use_state_management = False
        indexes = [pymongo.IndexModel([("email", 1)], unique=True, name="email_unique")]
