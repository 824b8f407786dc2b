"""POST /v1/bookings/{id}/review, GET /v1/listings/{id}/reviews."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.core.deps import CurrentUser, OptionalUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.pagination import CursorParam, Limit, Page, decode_after, next_page
from service.listings import service as listings
from service.reviews import service
from service.reviews.schemas import ReviewIn, ReviewOut

router = APIRouter(tags=["reviews"])


@router.post(
    "/v1/bookings/{booking_id}/review",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_review(
    booking_id: str, body: ReviewIn, user: CurrentUser, response: Response
) -> ReviewOut:
    """201 with `Location` naming where the review is listed (reviews have no URL of their own)."""
    oid = parse_object_id(booking_id, "booking")
    review = await service.create(user, booking_id=oid, rating=body.rating, text=body.text)
    response.headers["Location"] = f"/v1/listings/{review.listing_id}/reviews"
    return ReviewOut.of(review)


@router.get(
    "/v1/listings/{listing_id}/reviews",
    response_model=Page[ReviewOut],
    responses=problem_responses(404, 422),
)
async def list_reviews(
    listing_id: str,
    user: OptionalUser,
    settings: SettingsDep,
    limit: Limit = 20,
    cursor: CursorParam = None,
) -> Page[ReviewOut]:
    listing = await listings.get_visible(parse_object_id(listing_id, "listing"), user)
    secret = settings.cursor_secret.get_secret_value()
    after = decode_after(secret, cursor)
    rows = await service.page(listing_id=str(listing.id), limit=limit, after=after)
    rows, next_cursor = next_page(secret, rows, limit)
    return Page[ReviewOut](items=[ReviewOut.of(r) for r in rows], next_cursor=next_cursor)
