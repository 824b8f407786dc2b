"""/v1/me/saved-searches (create, list, delete) and /v1/me/notifications (list, mark read)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.alerts import service
from service.alerts.schemas import (
    NotificationOut,
    NotificationPage,
    ReadIn,
    ReadOut,
    SavedSearchIn,
    SavedSearchOut,
)
from service.core.deps import CurrentUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page

router = APIRouter(tags=["alerts"])


@router.post(
    "/v1/me/saved-searches",
    status_code=status.HTTP_201_CREATED,
    response_model=SavedSearchOut,
    responses=problem_responses(401, 409, 422, 429),
    summary="Save search parameters; new matches and price drops become notifications",
)
async def create_saved_search(
    body: SavedSearchIn, user: CurrentUser, response: Response
) -> SavedSearchOut:
    """201 with `Location` naming the list it joined (a saved search has no URL of its own)."""
    saved = await service.create_saved_search(user, data=body)
    response.headers["Location"] = "/v1/me/saved-searches"
    return SavedSearchOut.of(saved)


@router.get(
    "/v1/me/saved-searches",
    response_model=Page[SavedSearchOut],
    responses=problem_responses(401, 422, 429),
    summary="The caller's saved searches, newest first",
)
async def list_saved_searches(
    user: CurrentUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> Page[SavedSearchOut]:
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.saved_searches_page(user, limit=limit, after=decode_after(secret, cursor))
    page, next_cursor = next_page(secret, rows, limit)
    return Page(items=[SavedSearchOut.of(r) for r in page], next_cursor=next_cursor)


@router.delete(
    "/v1/me/saved-searches/{saved_search_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    summary="Delete one of the caller's saved searches",
)
async def delete_saved_search(saved_search_id: str, user: CurrentUser) -> Response:
    oid = parse_object_id(saved_search_id, "saved search")
    await service.delete_saved_search(user, saved_search_id=oid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/me/notifications",
    response_model=NotificationPage,
    responses=problem_responses(401, 422, 429),
    summary="The caller's notifications, newest first, with the unread count",
)
async def list_notifications(
    user: CurrentUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> NotificationPage:
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.notifications_page(user, limit=limit, after=decode_after(secret, cursor))
    page, next_cursor = next_page(secret, rows, limit)
    return NotificationPage(
        items=[NotificationOut.of(r) for r in page],
        next_cursor=next_cursor,
        unread_count=await service.unread_count(user),
    )


@router.post(
    "/v1/me/notifications/read",
    response_model=ReadOut,
    responses=problem_responses(401, 404, 422, 429),
    summary="Mark notifications read: the given ids, or all",
)
async def read_notifications(body: ReadIn, user: CurrentUser) -> ReadOut:
    updated = await service.mark_read(user, data=body)
    return ReadOut(updated=updated, unread_count=await service.unread_count(user))
