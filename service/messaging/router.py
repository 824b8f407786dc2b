"""/v1/conversations and their messages."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.core.deps import CurrentUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.messaging import service
from service.messaging.schemas import (
    ConversationIn,
    ConversationOut,
    ConversationPage,
    MessageIn,
    MessageOut,
)

router = APIRouter(tags=["messages"])


@router.post(
    "/v1/conversations",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationOut,
    responses=problem_responses(401, 404, 422),
)
async def start_conversation(
    body: ConversationIn, user: CurrentUser, response: Response
) -> ConversationOut:
    """201 with `Location` naming the conversation's messages (its URL in this API)."""
    conversation = await service.start(
        user, listing_id=body.listing_id, text=body.text, booking_id=body.booking_id
    )
    response.headers["Location"] = f"/v1/conversations/{conversation.id}/messages"
    return ConversationOut.of(conversation, str(user.id))


@router.get(
    "/v1/conversations", response_model=ConversationPage, responses=problem_responses(401, 422)
)
async def list_conversations(
    user: CurrentUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> ConversationPage:
    """Newest activity first; `unread_total` counts the caller's unread messages on this page."""
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.conversations(user, limit=limit, after=decode_after(secret, cursor))
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
async def post_message(
    conversation_id: str, body: MessageIn, user: CurrentUser, response: Response
) -> MessageOut:
    """201; `Location` names the conversation's messages (a message has no URL of its own)."""
    oid = parse_object_id(conversation_id, "conversation")
    message = await service.post(user, conversation_id=oid, text=body.text)
    response.headers["Location"] = f"/v1/conversations/{message.conversation_id}/messages"
    return MessageOut.of(message)


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
    after = decode_after(secret, cursor)
    rows = await service.messages(user, conversation_id=oid, limit=limit, after=after)
    rows, next_cursor = next_page(secret, rows, limit)
    return Page[MessageOut](items=[MessageOut.of(m) for m in rows], next_cursor=next_cursor)
