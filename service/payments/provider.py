"""The payment-provider port and the built-in provider.

The built-in provider behaves like an external PSP: it keeps its own intents (own ids, own
states, captured and refunded amounts) in its own collection, which the marketplace never writes
to directly, and it reports outcomes as signed webhook events. `reconcile` compares its state with
the ledger exactly as it would compare a real provider's API with the ledger.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, Field
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import Payment
from documents.values import utcnow
from service.core.config import Settings
from service.payments.signing import SIGNATURE_HEADER, sign


class IntentStatus(StrEnum):
    requires_payment = "requires_payment"
    succeeded = "succeeded"
    failed = "failed"


class Intent(BaseModel):
    id: str
    amount: int
    currency: str
    status: IntentStatus
    amount_received: int = 0
    amount_refunded: int = 0
    client_secret: str
    metadata: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class WebhookDelivery:
    """What the provider POSTs to /v1/payments/webhook."""

    body: bytes
    headers: dict[str, str]
    event_id: str


class ProviderError(Exception):
    pass


class PaymentProvider(Protocol):
    name: str

    async def create_intent(
        self, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent: ...

    async def get_intent(self, intent_id: str) -> Intent | None: ...

    async def refund(self, intent_id: str, amount: int, idempotency_key: str) -> Intent: ...


class BuiltinProvider:
    """A provider living in its own Mongo collection, signing its webhooks like a real PSP."""

    name = "builtin"
    collection_name = "builtin_provider_intents"

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._indexed = False

    @property
    def _col(self) -> Any:
        return Payment.get_motor_collection().database[self.collection_name]

    async def _ensure_indexes(self) -> None:
        if not self._indexed:
            await self._col.create_index("idempotency_key", unique=True)
            await self._col.create_index("client_secret")
            self._indexed = True

    async def create_intent(
        self, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        await self._ensure_indexes()
        intent = Intent(
            id=f"pi_{secrets.token_hex(12)}",
            amount=amount,
            currency=currency,
            status=IntentStatus.requires_payment,
            client_secret=f"pi_secret_{secrets.token_urlsafe(16)}",
            metadata=metadata,
        )
        doc = {
            "_id": intent.id,
            **intent.model_dump(mode="json", exclude={"id"}),
            "idempotency_key": idempotency_key,
            "refunds": [],
            "created_at": utcnow(),
        }
        try:
            await self._col.insert_one(doc)
        except DuplicateKeyError:
            existing = await self._col.find_one({"idempotency_key": idempotency_key})
            if existing is None:
                raise ProviderError("intent vanished") from None
            return self._intent(existing)
        return intent

    async def get_intent(self, intent_id: str) -> Intent | None:
        raw = await self._col.find_one({"_id": intent_id})
        return None if raw is None else self._intent(raw)

    async def refund(self, intent_id: str, amount: int, idempotency_key: str) -> Intent:
        """Refund `amount` once per key; never more than was received."""
        current = await self._col.find_one({"_id": intent_id})
        if current is None:
            raise ProviderError(f"unknown intent {intent_id}")
        if any(r["key"] == idempotency_key for r in current.get("refunds", [])):
            return self._intent(current)
        if current["status"] != IntentStatus.succeeded:
            raise ProviderError("only a succeeded intent can be refunded")
        room = current["amount_received"] - amount
        raw = await self._col.find_one_and_update(
            {
                "_id": intent_id,
                "refunds.key": {"$ne": idempotency_key},
                "amount_refunded": {"$lte": room},
            },
            {
                "$inc": {"amount_refunded": amount},
                "$push": {"refunds": {"key": idempotency_key, "amount": amount}},
            },
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            again = await self._col.find_one({"_id": intent_id})
            if again and any(r["key"] == idempotency_key for r in again.get("refunds", [])):
                return self._intent(again)
            raise ProviderError("refund exceeds the amount received")
        return self._intent(raw)

    async def intent_by_client_secret(self, client_secret: str) -> Intent | None:
        """What a client SDK resolves from the secret it was handed (test mode)."""
        raw = await self._col.find_one({"client_secret": client_secret})
        return None if raw is None else self._intent(raw)

    # The customer's side: paying (or failing to) produces a signed webhook delivery.
    async def confirm(self, intent_id: str, *, succeed: bool = True) -> WebhookDelivery:
        status = IntentStatus.succeeded if succeed else IntentStatus.failed
        current = await self._col.find_one({"_id": intent_id})
        if current is None:
            raise ProviderError(f"unknown intent {intent_id}")
        raw = await self._col.find_one_and_update(
            {"_id": intent_id, "status": IntentStatus.requires_payment.value},
            {
                "$set": {
                    "status": status.value,
                    "amount_received": current["amount"] if succeed else 0,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            raise ProviderError("intent is not awaiting payment")
        kind = "payment_intent.succeeded" if succeed else "payment_intent.payment_failed"
        return self.event(kind, self._intent(raw))

    def event(
        self,
        kind: str,
        intent: Intent,
        *,
        timestamp: int | None = None,
        event_id: str | None = None,
    ) -> WebhookDelivery:
        event_id = event_id or f"evt_{secrets.token_hex(12)}"
        t = int(time.time()) if timestamp is None else timestamp
        body = orjson.dumps(
            {
                "id": event_id,
                "type": kind,
                "created": t,
                "data": {"object": intent.model_dump(mode="json")},
            }
        )
        return WebhookDelivery(
            body=body,
            headers={
                SIGNATURE_HEADER: sign(self.secret, body, t),
                "Content-Type": "application/json",
            },
            event_id=event_id,
        )

    @staticmethod
    def _intent(raw: dict[str, Any]) -> Intent:
        return Intent.model_validate({"id": raw["_id"], **raw})


def get_provider(settings: Settings) -> BuiltinProvider:
    return BuiltinProvider(settings.webhook_secret.get_secret_value())
