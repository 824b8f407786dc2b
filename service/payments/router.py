"""POST/GET /v1/bookings/{id}/payment, POST /v1/payments/webhook,
POST /v1/payments/test/confirm (built-in provider only), GET /v1/payouts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse

from service.core.deps import CurrentUser, GuestUser, HostUser, SettingsDep, parse_object_id
from service.core.errors import not_found, problem_responses
from service.core.idempotency import IdempotencyKey, idempotent
from service.core.pagination import CursorParam, Limit, decode_after, next_page
from service.payments import service
from service.payments.deps import ProviderDep
from service.payments.schemas import (
    ConfirmTestPaymentIn,
    PaymentOut,
    PaymentStateOut,
    PayoutOut,
    PayoutPage,
    PayoutTotals,
    WebhookAck,
)
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
    """The guest starts paying a `requested` or `accepted` booking: 201 with the provider's
    `client_secret` (a second call returns the open intent). The client completes the payment
    with the provider (test mode: `POST /v1/payments/test/confirm`); the provider's webhook then
    moves it to `succeeded`, seen at `GET /v1/bookings/{booking_id}/payment`. 409 when the
    booking is paid already or its state does not take a payment."""
    oid = parse_object_id(booking_id, "booking")
    path = f"/v1/bookings/{booking_id}/payment"

    async def run() -> tuple[int, PaymentOut]:
        payment, intent = await service.create_payment(provider, user, booking_id=oid)
        return 201, PaymentOut.of(payment, intent)

    return await idempotent(
        key=key,
        user_id=str(user.id),
        method="POST",
        path=path,
        body=None,
        handler=run,
        headers=lambda _: {"Location": path},
    )


@router.get(
    "/v1/bookings/{booking_id}/payment",
    response_model=PaymentStateOut,
    responses=problem_responses(401, 404),
)
async def get_payment(booking_id: str, user: CurrentUser) -> PaymentStateOut:
    """Either party: the booking's payment (the captured one, else the latest attempt) with what
    was refunded; 404 when the booking was never paid (its `payment_status` is `none`)."""
    payment = await service.payment_of(user, booking_id=parse_object_id(booking_id, "booking"))
    if payment is None:
        raise not_found("payment")
    return PaymentStateOut.of(payment)


@router.post(
    "/v1/payments/test/confirm",
    response_model=PaymentStateOut,
    responses=problem_responses(404, 409, 422),
)
async def confirm_test_payment(
    body: ConfirmTestPaymentIn, settings: SettingsDep, provider: ProviderDep
) -> PaymentStateOut:
    """Test mode of the built-in provider (only when `payment_provider` is `builtin`; 404
    otherwise): the customer pays with the `client_secret`, as a provider's client SDK would.
    The provider's signed webhook goes through the ordinary webhook handling before this answers,
    so the payment returned is already `succeeded` (or `failed` with `succeed: false`). 404 for
    an unknown secret, 409 when the payment is not awaiting confirmation."""
    payment = await service.confirm_test_payment(
        provider, settings, client_secret=body.client_secret, succeed=body.succeed
    )
    return PaymentStateOut.of(payment)


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
