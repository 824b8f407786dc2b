"""Property test: any sequence of book / accept / decline / cancel / pay / expire keeps the
listing's availability equal to its live bookings, and the ledger balanced and reconciled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.values import utcnow
from service.bookings.service import sweep
from service.payments.reconcile import reconcile
from tests.bookings.support import (
    assert_availability_matches_bookings,
    assert_ledger_balanced,
    book,
    future_day,
    future_hour,
    provider_of,
    publish,
)
from tests.conftest import Account

idx = st.integers(min_value=0, max_value=50)
OPS = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 6), st.integers(1, 3)),
    st.tuples(st.just("accept"), idx),
    st.tuples(st.just("decline"), idx),
    st.tuples(st.just("cancel"), idx, st.booleans()),
    st.tuples(st.just("pay"), idx),
    st.tuples(st.just("expire")),
)


def _booking_body(unit: str, a: int, b: int) -> dict[str, Any]:
    if unit == "night":
        return {"check_in": future_day(30 + a), "check_out": future_day(30 + a + b)}
    if unit == "hour":
        return {"start": future_hour(hour=8 + a), "end": future_hour(hour=8 + a + b), "seats": b}
    return {"quantity": b}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(unit=st.sampled_from(["night", "hour", "item"]), ops=st.lists(OPS, max_size=12))
async def test_random_sequences_keep_availability_and_ledger(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    unit: str,
    ops: list[tuple[Any, ...]],
) -> None:
    extra: dict[str, Any] = {"unit": unit, "capacity": 4}
    if unit == "item":
        extra.update(stock=6, capacity=1)
    listing = await publish(client, host, **extra)
    lid = listing["id"]
    provider = provider_of(app)
    bookings: list[str] = []
    for op in ops:
        kind = op[0]
        if kind == "book":
            r = await book(client, guest, lid, **_booking_body(unit, op[1], op[2]))
            assert r.status_code in (201, 409), r.text
            if r.status_code == 201:
                bookings.append(r.json()["id"])
        elif kind == "expire":
            await sweep(provider, utcnow() + timedelta(days=2))
        elif bookings:
            bid = bookings[op[1] % len(bookings)]
            if kind == "pay":
                r = await client.post(f"/v1/bookings/{bid}/payment", headers=guest.headers)
                assert r.status_code in (201, 409), r.text
                if r.status_code == 201 and r.json()["status"] == "requires_payment":
                    delivery = await provider.confirm(r.json()["provider_intent_id"])
                    w = await client.post(
                        "/v1/payments/webhook", content=delivery.body, headers=delivery.headers
                    )
                    assert w.status_code == 200
            else:
                actor = host if kind in ("accept", "decline") or (op[2:] and op[2]) else guest
                r = await client.post(f"/v1/bookings/{bid}/{kind}", headers=actor.headers)
                assert r.status_code in (200, 409), r.text
        await assert_availability_matches_bookings(lid)
        await assert_ledger_balanced()
    assert await reconcile(provider) == []
