"""/v1/conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, StringConstraints

from documents import Conversation, Message
from documents.values import StrictModel
from service.core.deps import CurrentUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.messaging import service

router = APIRouter(tags=["messages"])

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


@router.post(
    "/v1/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationOut,
    responses=problem_responses(401, 404, 422),
)
async def start_conversation(body: ConversationIn, user: CurrentUser) -> ConversationOut:
    conversation = await service.start(user, body.listing_id, body.text, body.booking_id)
    return ConversationOut.of(conversation, str(user.id))


@router.get(
    "/v1/conversations", response_model=ConversationPage, responses=problem_responses(401, 422)
)
async def list_conversations(
    user: CurrentUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> ConversationPage:
    """Newest activity first; `unread_total` counts the caller's unread messages on this page."""
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.conversations(user, limit, decode_after(secret, cursor))
    rows, next_cursor = next_page(secret, rows, limit, "last_message_at")
    items = [ConversationOut.of(c, str(user.id)) for c in rows]
    return ConversationPage(
        items=items, next_cursor=next_cursor, unread_total=sum(i.unread_count for i in items)
    )


@router.post(
    "/v1/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
    responses=problem_responses(401, 404, 422),
)
async def post_message(conversation_id: str, body: MessageIn, user: CurrentUser) -> MessageOut:
    oid = parse_object_id(conversation_id, "conversation")
    return MessageOut.of(await service.post(user, oid, body.text))


@router.get(
    "/v1/conversations/{conversation_id}/messages",
    response_model=Page[MessageOut],
    responses=problem_responses(401, 404, 422),
)
async def list_messages(
    conversation_id: str,
    user: CurrentUser,
    settings: SettingsDep,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Page[MessageOut]:
    """Newest first; reading the first page marks the conversation read for the caller."""
    oid = parse_object_id(conversation_id, "conversation")
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.messages(user, oid, limit, decode_after(secret, cursor))
    rows, next_cursor = next_page(secret, rows, limit)
    return Page[MessageOut](items=[MessageOut.of(m) for m in rows], next_cursor=next_cursor)
