"""POST /v1/bookings/{id}/payment, POST /v1/payments/webhook, GET /v1/payouts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse

from service.core.deps import GuestUser, HostUser, SettingsDep, parse_object_id
from service.core.errors import problem_responses
from service.core.idempotency import IdempotencyKey, idempotent
from service.core.pagination import CursorParam, Limit, decode_after, next_page
from service.payments import service
from service.payments.deps import ProviderDep
from service.payments.schemas import PaymentOut, PayoutOut, PayoutPage, PayoutTotals, WebhookAck
from service.payments.signing import SIGNATURE_HEADER

router = APIRouter(tags=["payments"])


@router.post(
    "/v1/bookings/{booking_id}/payment",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_payment(
    booking_id: str, user: GuestUser, provider: ProviderDep, key: IdempotencyKey = None
) -> JSONResponse:
    oid = parse_object_id(booking_id, "booking")

    async def run() -> tuple[int, PaymentOut]:
        payment, intent = await service.create_payment(provider, user, booking_id=oid)
        return 201, PaymentOut.of(payment, intent)

    path = f"/v1/bookings/{booking_id}/payment"
    return await idempotent(
        key=key, user_id=str(user.id), method="POST", path=path, body=None, handler=run
    )


@router.post(
    "/v1/payments/webhook",
    response_model=WebhookAck,
    responses=problem_responses(400),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def webhook(
    request: Request,
    settings: SettingsDep,
    provider: ProviderDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=1024)] = None,
) -> WebhookAck:
    """Signed by the provider over the raw body; the signature is checked before parsing."""
    body = await request.body()
    ack: dict[str, Any] = await service.handle_webhook(
        provider,
        secret=settings.webhook_secret.get_secret_value(),
        tolerance_s=settings.webhook_tolerance_s,
        body=body,
        signature=signature,
    )
    return WebhookAck(**ack)


@router.get("/v1/payouts", response_model=PayoutPage, responses=problem_responses(401, 403, 422))
async def list_payouts(
    user: HostUser, settings: SettingsDep, limit: Limit = 20, cursor: CursorParam = None
) -> PayoutPage:
    secret = settings.cursor_secret.get_secret_value()
    after = decode_after(secret, cursor)
    rows, totals = await service.payouts_page(user, limit=limit, after=after)
    rows, next_cursor = next_page(secret, rows, limit)
    return PayoutPage(
        items=[PayoutOut.of(p) for p in rows],
        totals=[PayoutTotals.of(**t) for t in totals],
        next_cursor=next_cursor,
    )
