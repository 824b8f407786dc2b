"""PUT/DELETE /v1/me/wishlist/{listing_id} (idempotent, 204) and GET /v1/me/wishlist (pages)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.core.deps import CurrentUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.wishlists import service
from service.wishlists.schemas import WishlistItemOut

router = APIRouter(tags=["wishlists"])


@router.put(
    "/v1/me/wishlist/{listing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    summary="Save a listing to the caller's wishlist (idempotent)",
)
async def save_listing(listing_id: str, user: CurrentUser) -> Response:
    await service.add(user, listing_id=parse_object_id(listing_id, "listing"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/v1/me/wishlist/{listing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 429),
    summary="Remove a listing from the caller's wishlist (idempotent)",
)
async def unsave_listing(listing_id: str, user: CurrentUser) -> Response:
    await service.remove(user, listing_id=parse_object_id(listing_id, "listing"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/v1/me/wishlist",
    response_model=Page[WishlistItemOut],
    responses=problem_responses(401, 422, 429),
    summary="The caller's wishlist, newest saved first",
)
async def wishlist(
    user: CurrentUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> Page[WishlistItemOut]:
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.page(user, limit=limit, after=decode_after(secret, cursor))
    page, next_cursor = next_page(secret, [e for e, _ in rows], limit)
    listings = {id(e): li for e, li in rows}
    return Page(
        items=[WishlistItemOut.of(e, listings[id(e)]) for e in page], next_cursor=next_cursor
    )
