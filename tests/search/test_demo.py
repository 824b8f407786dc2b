"""The seeded demo data tells the truth: every hit of a dated search on it books with 201 at
exactly the quoted price."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents.values import utcnow
from indexers.definition import alias_name
from indexers.runner import Indexer
from service.core.config import Settings
from service.seeding import seed_database
from tests.conftest import Account

QUOTED = ("subtotal", "discount", "cleaning_fee", "guest_fee", "total")


def _day(n: int) -> str:
    return (utcnow().date() + timedelta(days=n)).isoformat()


def _hour(days: int, h: int) -> str:
    return f"{_day(days)}T{h:02d}:00:00Z"


async def test_dated_demo_hits_book_at_the_quoted_price(
    app: FastAPI, client: httpx.AsyncClient, guest: Account, settings: Settings
) -> None:
    await seed_database(listings=300, users=30, settings=settings)
    es = AsyncElasticsearch(settings.elasticsearch_url)
    try:
        await Indexer.polling(es, settings).drain()
        await es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))
    finally:
        await es.close()
    searches: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"check_in": _day(3), "check_out": _day(4)}, {"guests": 1}),
        ({"check_in": _day(10), "check_out": _day(17), "guests": 2}, {}),
        (
            {"check_in": _day(40), "check_out": _day(43), "sort": "price_asc", "currency": "EUR"},
            {"guests": 1},
        ),
        ({"start": _hour(5, 9), "end": _hour(5, 12), "guests": 2}, {}),
        ({"quantity": 2}, {}),
    ]
    booked = 0
    for params, extra in searches:
        r = await client.get("/v1/search/listings", params={**params, "limit": 8})
        assert r.status_code == 200, r.text
        hits = r.json()["hits"]
        assert hits, params
        for hit in hits:
            body: dict[str, Any] = {"listing_id": hit["id"], **extra}
            if "check_in" in params:
                body.update(
                    check_in=params["check_in"],
                    check_out=params["check_out"],
                    guests=params.get("guests", extra.get("guests")),
                )
            elif "start" in params:
                body.update(start=params["start"], end=params["end"], seats=params["guests"])
            else:
                body["quantity"] = params["quantity"]
            b = await client.post("/v1/bookings", json=body, headers=guest.headers)
            assert b.status_code == 201, (params, hit, b.text)
            price = b.json()["price"]
            assert {f: price[f] for f in QUOTED} == {f: hit["quote"][f] for f in QUOTED}
            assert price["units"] == hit["quote"]["units"]
            booked += 1
    assert booked >= 20
