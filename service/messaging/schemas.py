"""Messaging API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from documents import Conversation, Message
from documents.values import StrictModel
from service.core.pagination import Page

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class ConversationIn(StrictModel):
    listing_id: str = Field(min_length=1, max_length=64)
    text: Text
    booking_id: str | None = Field(default=None, max_length=64)


class MessageIn(StrictModel):
    text: Text


class ConversationOut(BaseModel):
    id: str
    listing_id: str
    guest_id: str
    host_id: str
    booking_id: str | None
    participants: list[str]
    unread_count: int  # for the caller
    last_message_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, c: Conversation, viewer: str) -> ConversationOut:
        return cls(
            id=str(c.id),
            listing_id=c.listing_id,
            guest_id=c.guest_id,
            host_id=c.host_id,
            booking_id=c.booking_id,
            participants=c.participants,
            unread_count=c.unread.get(viewer, 0),
            last_message_at=c.last_message_at,
            created_at=c.created_at,
        )


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    sender_id: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=str(m.id),
            conversation_id=m.conversation_id,
            sender_id=m.sender_id,
            text=m.text,
            created_at=m.created_at,
        )


class ConversationPage(Page[ConversationOut]):
    unread_total: int = 0
