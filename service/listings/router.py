"""/v1/listings: create, read, patch (If-Match), publish, close, soft delete, list own."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status

from documents import Listing, ListingStatus
from service.core.deps import HostUser, OptionalUser, SettingsDep, parse_object_id
from service.core.errors import ProblemError, problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.listings import service
from service.listings.schemas import ListingIn, ListingOut, ListingPatch

router = APIRouter(tags=["listings"])


def _etag(listing: Listing) -> str:
    """`"<edit tag>-<version>"`: the edit tag (a hash of what the host edits) decides If-Match,
    so a guest's booking never makes a host's edit stale; the whole tag changes with every
    write, so If-None-Match never answers 304 for changed availability."""
    return f'"{service.edit_tag(listing)}-{listing.version}"'


_TAG = re.compile(r"^([0-9a-f]{16})(?:-[0-9]{1,18})?$")


def _opaque(value: str) -> str:
    return value.strip().removeprefix("W/").strip('"')


def _parse_if_match(value: str | None) -> service.Precondition | None:
    if value is None:
        return None
    raw = value.strip()
    if raw == "*":
        return None
    raw = _opaque(raw)
    if raw.isdigit() and len(raw) <= 18:  # the listing's `version`, as before ETags were tags
        return service.Precondition(version=int(raw))
    match = _TAG.match(raw)
    if match is None:
        raise ProblemError(
            400,
            "If-Match must be the listing's ETag (or its version)",
            errors=[{"loc": ["header", "If-Match"], "msg": "not an ETag of this listing"}],
        )
    return service.Precondition(edit_tag=match.group(1))


def _none_match(value: str | None, etag: str) -> bool:
    """Whether If-None-Match lists the current ETag (weak comparison, as RFC 9110 says)."""
    if value is None:
        return False
    if value.strip() == "*":
        return True
    return _opaque(etag) in {_opaque(v) for v in value.split(",")}


@router.post(
    "/v1/listings",
    status_code=status.HTTP_201_CREATED,
    response_model=ListingOut,
    responses=problem_responses(401, 403, 422, 429),
)
async def create_listing(body: ListingIn, user: HostUser, response: Response) -> ListingOut:
    listing = await service.create(user, body)
    response.headers["ETag"] = _etag(listing)
    response.headers["Location"] = f"/v1/listings/{listing.id}"
    return ListingOut.of(listing)


@router.get(
    "/v1/listings", response_model=Page[ListingOut], responses=problem_responses(401, 403, 422)
)
async def list_own_listings(
    user: HostUser,
    settings: SettingsDep,
    owner: Annotated[Literal["me"], Query(description="only `me` is supported")],
    limit: Limit = 20,
    cursor: CursorParam = None,
    status_: Annotated[ListingStatus | None, Query(alias="status")] = None,
) -> Page[ListingOut]:
    secret = settings.cursor_secret.get_secret_value()
    rows = await service.list_owned(user, limit, decode_after(secret, cursor), status_)
    rows, next_cursor = next_page(secret, rows, limit)
    return Page[ListingOut](items=[ListingOut.of(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/v1/listings/{listing_id}",
    response_model=ListingOut,
    responses={304: {"description": "Not Modified: If-None-Match lists the current ETag"}}
    | problem_responses(404),
)
async def get_listing(
    listing_id: str,
    user: OptionalUser,
    response: Response,
    if_none_match: Annotated[str | None, Header(max_length=400)] = None,
) -> ListingOut | Response:
    """`ETag` is `"<edit tag>-<version>"`: send it back as `If-Match` on PATCH (stale only when a
    host-editable field changed, not when guests book) or as `If-None-Match` here (304 while
    nothing at all changed)."""
    listing = await service.get_visible(parse_object_id(listing_id, "listing"), user)
    etag = _etag(listing)
    if _none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return ListingOut.of(listing)


@router.patch(
    "/v1/listings/{listing_id}",
    response_model=ListingOut,
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422),
)
async def patch_listing(
    listing_id: str,
    body: ListingPatch,
    user: HostUser,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> ListingOut:
    listing = await service.update(
        parse_object_id(listing_id, "listing"), user, body, _parse_if_match(if_match)
    )
    response.headers["ETag"] = _etag(listing)
    return ListingOut.of(listing)


@router.post(
    "/v1/listings/{listing_id}/publish",
    response_model=ListingOut,
    responses=problem_responses(401, 403, 404, 409),
)
async def publish_listing(listing_id: str, user: HostUser) -> ListingOut:
    return ListingOut.of(
        await service.transition(parse_object_id(listing_id, "listing"), user, "publish")
    )


@router.post(
    "/v1/listings/{listing_id}/close",
    response_model=ListingOut,
    responses=problem_responses(401, 403, 404, 409),
)
async def close_listing(listing_id: str, user: HostUser) -> ListingOut:
    return ListingOut.of(
        await service.transition(parse_object_id(listing_id, "listing"), user, "close")
    )


@router.delete(
    "/v1/listings/{listing_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_listing(listing_id: str, user: HostUser) -> Response:
    await service.soft_delete(parse_object_id(listing_id, "listing"), user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
