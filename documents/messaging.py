"""Conversations between a guest and a listing's owner, and their messages."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field

from documents.values import utcnow


class Conversation(Document):
    listing_id: str
    guest_id: str
    host_id: str
    booking_id: str | None = None
    participants: list[str]
    unread: dict[str, int] = Field(default_factory=dict)  # user id -> unread count
    last_message_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "conversations"
        use_state_management = False
        indexes = [
            pymongo.IndexModel(
                [("participants", 1), ("last_message_at", -1), ("_id", -1)],
                name="participant_recent",
            ),
            # One conversation per guest and listing: concurrent first messages can't fork it.
            pymongo.IndexModel(
                [("listing_id", 1), ("guest_id", 1)], unique=True, name="listing_guest_unique"
            ),
        ]


class Message(Document):
    conversation_id: str
    sender_id: str
    text: str
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "messages"
        use_state_management = False
        indexes = [
            pymongo.IndexModel(
                [("conversation_id", 1), ("created_at", -1), ("_id", -1)],
                name="conversation_recent",
            ),
            pymongo.IndexModel([("sender_id", 1)], name="sender"),
        ]
