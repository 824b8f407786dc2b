"""Totals: a listing's stay pricing (cleaning fee, weekly and monthly discounts) is settable,
shown, quoted by search and charged by bookings, the same figures to the minor unit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from documents import Pricing
from documents.values import Money, utcnow
from indexers.definition import QUOTED_NIGHTS, alias_name
from indexers.projection import stay_charges
from indexers.runner import Indexer
from service.core.config import Settings
from service.pricing import breakdown, guest_total, max_charged, min_charged, split
from tests.bookings.support import assert_ledger_balanced, pay
from tests.conftest import Account, listing_body

QUOTED = ("subtotal", "discount", "cleaning_fee", "guest_fee", "total")
PRICING = {
    "cleaning_fee": {"amount": 4_999, "currency": "EUR"},
    "weekly_discount_bps": 1_234,
    "monthly_discount_bps": 2_777,
}


@given(
    price=st.integers(0, 10**7),
    cleaning=st.one_of(st.none(), st.integers(0, 10**6)),
    weekly=st.integers(0, 10_000),
    monthly=st.integers(0, 10_000),
    fee_bps=st.integers(0, 3_000),
    percent=st.integers(0, 100),
)
def test_materialised_stay_charges_are_the_booking_price(
    price: int, cleaning: int | None, weekly: int, monthly: int, fee_bps: int, percent: int
) -> None:
    """For every stay length the index holds, guest_total(stay_charge.n<k>) is the booking's
    total, the search's bound inversion is exact there, and refunds still add up."""
    pricing = Pricing(
        cleaning_fee=None if cleaning is None else Money(amount=cleaning, currency="EUR"),
        weekly_discount_bps=weekly,
        monthly_discount_bps=monthly,
    )
    charges = stay_charges("night", price, pricing.model_dump())
    assert sorted(charges) == sorted(f"n{n}" for n in range(1, QUOTED_NIGHTS + 1))
    for n in (1, 6, 7, 27, 28, 30):
        b = breakdown(
            Money(amount=price, currency="EUR"),
            n,
            commission_bps=1_500,
            guest_fee_bps=fee_bps,
            pricing=pricing,
        )
        total = b.total.amount
        assert guest_total(charges[f"n{n}"], fee_bps) == total
        assert max_charged(total, fee_bps) >= charges[f"n{n}"] > max_charged(total - 1, fee_bps)
        assert min_charged(total, fee_bps) <= charges[f"n{n}"] < min_charged(total + 1, fee_bps)
        want = 0 if n < 7 else (monthly if n >= 28 and monthly else weekly)
        assert b.discount.amount == (price * n * want + 5000) // 10000
        parts = split(b, percent)
        assert parts.refund + parts.kept == total
        assert parts.host >= 0 and parts.kept_commission >= 0


@pytest.fixture
async def indexer(app: FastAPI, settings: Settings) -> AsyncIterator[Indexer]:
    es = AsyncElasticsearch(settings.elasticsearch_url)
    yield Indexer.polling(es, settings)
    await es.close()


async def _sync(indexer: Indexer, settings: Settings) -> None:
    await indexer.drain()
    await indexer.es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))


def _day(n: int) -> str:
    return (utcnow().date() + timedelta(days=n)).isoformat()


async def _listing(client: httpx.AsyncClient, host: Account, **body: Any) -> str:
    r = await client.post("/v1/listings", json=listing_body(**body), headers=host.headers)
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    assert (await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)).is_success
    return lid


async def _hit(client: httpx.AsyncClient, lid: str, **params: Any) -> dict[str, Any]:
    r = await client.get("/v1/search/listings", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    hits = {h["id"]: h for h in r.json()["hits"]}
    assert lid in hits, params
    return hits[lid]


async def test_pricing_is_set_shown_patched_and_validated(
    client: httpx.AsyncClient, host: Account
) -> None:
    lid = await _listing(client, host, pricing=PRICING)
    got = (await client.get(f"/v1/listings/{lid}")).json()
    assert got["pricing"] == PRICING
    patch = {"pricing": {"weekly_discount_bps": 500}}
    r = await client.patch(f"/v1/listings/{lid}", json=patch, headers=host.headers)
    assert r.status_code == 200, r.text
    assert r.json()["pricing"] == {
        "cleaning_fee": None,
        "weekly_discount_bps": 500,
        "monthly_discount_bps": 0,
    }
    bad = [
        {"pricing": {"cleaning_fee": {"amount": 100, "currency": "USD"}}},
        {"pricing": {"weekly_discount_bps": 10_001}},
        {"pricing": {"weekly_discount_bps": 1.5}},
    ]
    for body in bad:
        r = await client.patch(f"/v1/listings/{lid}", json=body, headers=host.headers)
        assert r.status_code == 422, (body, r.text)
    r = await client.post(
        "/v1/listings", json=listing_body(unit="hour", pricing=PRICING), headers=host.headers
    )
    assert r.status_code == 422
    # Old listings without pricing read as null.
    plain = await _listing(client, host)
    assert (await client.get(f"/v1/listings/{plain}")).json()["pricing"] is None


@pytest.mark.parametrize("nights", [1, 7, 28, 33])
async def test_quote_is_what_the_booking_charges(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    indexer: Indexer,
    settings: Settings,
    nights: int,
) -> None:
    lid = await _listing(client, host, pricing=PRICING, price={"amount": 12_345, "currency": "EUR"})
    await _sync(indexer, settings)
    stay = {"check_in": _day(20), "check_out": _day(20 + nights)}
    quote = (await _hit(client, lid, **stay))["quote"]
    assert quote["units"] == nights
    if nights <= 30:
        total = quote["total"]["amount"]
        await _hit(client, lid, **stay, price_max=total, price_min=total)
    r = await client.post(
        "/v1/bookings", json={"listing_id": lid, **stay, "guests": 1}, headers=guest.headers
    )
    assert r.status_code == 201, r.text
    price = r.json()["price"]
    assert {f: price[f] for f in QUOTED} == {f: quote[f] for f in QUOTED}
    assert price["units"] == quote["units"]
    discount = price["discount"]["amount"]
    assert (discount > 0) == (nights >= 7)
    sub, fee = price["subtotal"]["amount"], price["guest_fee"]["amount"]
    charged = sub - discount + 4_999
    assert price["total"]["amount"] == charged + fee
    assert price["host_payout"]["amount"] == charged - price["commission"]["amount"]

    # The money follows: pay, cancel (refund per policy), ledger balanced to the cent.
    booking_id = r.json()["id"]
    await pay(client, app, guest, booking_id)
    r = await client.post(f"/v1/bookings/{booking_id}/accept", headers=host.headers)
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/bookings/{booking_id}/cancel", headers=guest.headers)
    assert r.status_code == 200, r.text
    assert r.json()["refund"]["amount"] == price["total"]["amount"]  # moderate, 20 days ahead
    await assert_ledger_balanced()


async def test_hour_and_item_quotes_match_bookings(
    client: httpx.AsyncClient,
    host: Account,
    guest: Account,
    indexer: Indexer,
    settings: Settings,
) -> None:
    room = await _listing(client, host, unit="hour", capacity=5, title="Meeting room quote")
    shop = await _listing(client, host, unit="item", stock=9, title="Kayak rental quote")
    await _sync(indexer, settings)
    day = utcnow().date() + timedelta(days=9)
    start, end = f"{day}T09:00:00Z", f"{day}T12:00:00Z"
    quote = (await _hit(client, room, start=start, end=end, guests=2))["quote"]
    assert quote["units"] == 6
    r = await client.post(
        "/v1/bookings",
        json={"listing_id": room, "start": start, "end": end, "seats": 2},
        headers=guest.headers,
    )
    assert r.status_code == 201, r.text
    assert {f: r.json()["price"][f] for f in QUOTED} == {f: quote[f] for f in QUOTED}
    quote = (await _hit(client, shop, quantity=4))["quote"]
    r = await client.post(
        "/v1/bookings", json={"listing_id": shop, "quantity": 4}, headers=guest.headers
    )
    assert r.status_code == 201, r.text
    assert {f: r.json()["price"][f] for f in QUOTED} == {f: quote[f] for f in QUOTED}
