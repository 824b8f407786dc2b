"""GET /v1/admin/reports/revenue: GMV, refunds, commission, fees by month and by category."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from bson import ObjectId
from fastapi import FastAPI

from documents import PriceBreakdown, User
from documents.values import utcnow
from service.pricing import split
from tests.bookings.support import book_nights, pay, publish
from tests.conftest import Account, MakeUser


async def _admin(make_user: MakeUser) -> Account:
    account = await make_user(["guest"])
    await User.get_motor_collection().update_one(
        {"_id": ObjectId(account.id)}, {"$set": {"roles": ["guest", "admin"]}}
    )
    return account


async def test_revenue_by_category_and_month(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    make_user: MakeUser,
    clock: Callable[[timedelta], None],
) -> None:
    admin = await _admin(make_user)
    flat = (
        await publish(
            client,
            host,
            category="apartment",
            rules={"instant_book": True},
            price={"amount": 10000, "currency": "EUR"},
        )
    )["id"]
    boat = (
        await publish(
            client,
            host,
            category="boat",
            rules={"instant_book": True, "cancellation_policy": "strict"},
            price={"amount": 33333, "currency": "EUR"},
        )
    )["id"]
    done = await book_nights(client, guest, flat, start=5, n=2)
    await pay(client, app, guest, done["id"])
    cancelled = await book_nights(client, guest, boat, start=30, n=1)
    await pay(client, app, guest, cancelled["id"])
    r = await client.post(f"/v1/bookings/{cancelled['id']}/cancel", headers=guest.headers)
    assert r.status_code == 200
    clock(timedelta(days=10))
    assert (
        await client.post(f"/v1/bookings/{done['id']}/complete", headers=host.headers)
    ).status_code == 200

    boat_split = split(PriceBreakdown.model_validate(cancelled["price"]), 50)  # strict, > 7 days
    r = await client.get(
        "/v1/admin/reports/revenue", params={"group_by": "category"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["group_by"] == "category" and "from" in report
    rows = {row["key"]: row for row in report["rows"]}

    def eur(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": "EUR"}

    assert rows["apartment"] == {
        "key": "apartment",
        "currency": "EUR",
        "gmv": done["price"]["total"],
        "refunds": eur(0),
        "commission": done["price"]["commission"],
        "guest_fees": done["price"]["guest_fee"],
        "net_revenue": eur(
            done["price"]["commission"]["amount"] + done["price"]["guest_fee"]["amount"]
        ),
        "payments": 1,
    }
    assert rows["boat"]["gmv"] == cancelled["price"]["total"]
    assert rows["boat"]["refunds"] == eur(boat_split.refund)
    assert rows["boat"]["commission"] == eur(boat_split.kept_commission)
    assert rows["boat"]["guest_fees"] == eur(boat_split.kept_fee)

    r = await client.get("/v1/admin/reports/revenue", headers=admin.headers)
    month = utcnow().strftime("%Y-%m")
    (row,) = r.json()["rows"]
    assert row["key"] == month
    assert row["gmv"] == eur(rows["apartment"]["gmv"]["amount"] + rows["boat"]["gmv"]["amount"])
    assert row["payments"] == 2

    # A window before anything happened is empty.
    r = await client.get(
        "/v1/admin/reports/revenue",
        params={"from": "2020-01-01", "to": "2020-02-01"},
        headers=admin.headers,
    )
    assert r.json()["rows"] == []


async def test_revenue_report_is_admin_only_and_validates(
    client: httpx.AsyncClient, host: Account, make_user: MakeUser
) -> None:
    assert (await client.get("/v1/admin/reports/revenue", headers=host.headers)).status_code == 403
    assert (await client.get("/v1/admin/reports/revenue")).status_code == 401
    admin = await _admin(make_user)
    r = await client.get(
        "/v1/admin/reports/revenue",
        params={"from": "2026-02-01", "to": "2026-01-01"},
        headers=admin.headers,
    )
    assert r.status_code == 422
    r = await client.get(
        "/v1/admin/reports/revenue", params={"group_by": "city"}, headers=admin.headers
    )
    assert r.status_code == 422
