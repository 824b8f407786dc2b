"""Reviews: only the guest of a completed booking, once; the listing summary follows by $inc,
can be repaired after a crash, and reaches search through the indexer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from bson import ObjectId
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from documents import Review
from documents.values import utcnow
from indexers.definition import alias_name
from indexers.runner import Indexer
from service.core.config import Settings
from service.reviews.service import repair_summaries
from tests.bookings.support import book_nights, listing_doc, publish
from tests.conftest import Account, MakeUser


async def _completed(
    client: httpx.AsyncClient,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
    lid: str | None = None,
    start: int = 5,
) -> tuple[str, str]:
    if lid is None:
        lid = (await publish(client, host, rules={"instant_book": True}))["id"]
    bid = (await book_nights(client, guest, lid, start=start, n=1))["id"]
    clock(timedelta(days=start + 2))
    r = await client.post(f"/v1/bookings/{bid}/complete", headers=host.headers)
    clock(timedelta(0))
    assert r.status_code == 200, r.text
    return lid, bid


async def _review(
    client: httpx.AsyncClient, who: Account, bid: str, rating: Any = 5, text: str = "Lovely"
) -> httpx.Response:
    return await client.post(
        f"/v1/bookings/{bid}/review", json={"rating": rating, "text": text}, headers=who.headers
    )


async def test_guest_of_completed_booking_reviews_once(
    client: httpx.AsyncClient,
    host: Account,
    guest: Account,
    make_user: MakeUser,
    clock: Callable[[timedelta], None],
) -> None:
    lid, bid = await _completed(client, host, guest, clock)
    before = await listing_doc(lid)
    r = await _review(client, guest, bid, 4, "Great stay")
    assert r.status_code == 201, r.text
    assert r.json()["rating"] == 4
    assert r.headers["location"] == f"/v1/listings/{lid}/reviews"  # where it is listed
    after = await listing_doc(lid)
    assert after.version == before.version + 1  # through apply_write: the indexer sees it
    rs = (await client.get(f"/v1/listings/{lid}")).json()["review_summary"]
    assert rs["count"] == 1 and rs["average"] == 4.0
    assert rs["histogram"]["4"] == 1

    # Once per booking, also under a race.
    results = await asyncio.gather(*(_review(client, guest, bid) for _ in range(5)))
    assert all(x.status_code == 409 for x in results)
    # Wrong parties and bad ratings.
    stranger = await make_user(["guest"])
    assert (await _review(client, stranger, bid)).status_code == 404
    assert (await _review(client, host, bid)).status_code == 403
    for bad in (0, 6, "five", 4.5):
        x = await _review(client, guest, bid, bad)
        assert x.status_code == 422 and x.json()["errors"][0]["loc"] == ["rating"]
    assert (await listing_doc(lid)).review_summary.count == 1


async def test_only_completed_bookings_can_be_reviewed(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    bid = (await book_nights(client, guest, listing["id"]))["id"]
    assert (await _review(client, guest, bid)).status_code == 403  # requested
    await client.post(f"/v1/bookings/{bid}/accept", headers=host.headers)
    assert (await _review(client, guest, bid)).status_code == 403  # accepted, not yet over


async def test_reviews_page_newest_first_and_summary_maths(
    client: httpx.AsyncClient,
    host: Account,
    make_user: MakeUser,
    clock: Callable[[timedelta], None],
) -> None:
    lid = (await publish(client, host, rules={"instant_book": True}))["id"]
    ratings = [5, 3, 4, 5, 1]
    for i, rating in enumerate(ratings):
        guest = await make_user(["guest"])
        _, bid = await _completed(client, host, guest, clock, lid, start=5 + 2 * i)
        assert (await _review(client, guest, bid, rating, f"review {i}")).status_code == 201
    texts: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/v1/listings/{lid}/reviews", params=params)).json()
        texts += [r["text"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert texts == [f"review {i}" for i in reversed(range(5))]
    rs = (await client.get(f"/v1/listings/{lid}")).json()["review_summary"]
    assert rs["count"] == 5 and rs["average"] == round(sum(ratings) / 5, 2)
    assert rs["histogram"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}
    assert rs["bayesian_average"] == round((4.0 * 5 + sum(ratings)) / 10, 4)
    assert (await client.get(f"/v1/listings/{'0' * 24}/reviews")).status_code == 404


async def test_repair_recomputes_a_summary_left_behind_by_a_crash(
    client: httpx.AsyncClient, host: Account, guest: Account, clock: Callable[[timedelta], None]
) -> None:
    lid, bid = await _completed(client, host, guest, clock)
    assert (await _review(client, guest, bid, 5)).status_code == 201
    # A second review whose $inc never happened (process died right after the insert).
    crashed = Review(
        booking_id=str(ObjectId()),
        listing_id=lid,
        guest_id=guest.id,
        rating=2,
        created_at=utcnow() - timedelta(minutes=10),
    )
    await crashed.insert()
    assert (await listing_doc(lid)).review_summary.count == 1
    assert await repair_summaries() == 1
    rs = (await listing_doc(lid)).review_summary
    assert (rs.count, rs.sum, rs.histogram["2"], rs.histogram["5"]) == (2, 7, 1, 1)
    assert await repair_summaries() == 0  # nothing stale any more; idempotent


async def test_review_summary_reaches_search(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
    settings: Settings,
    es_url: str,
) -> None:
    lid, bid = await _completed(client, host, guest, clock)
    assert (await _review(client, guest, bid, 3)).status_code == 201
    es = AsyncElasticsearch(es_url, request_timeout=30)
    try:
        await Indexer.polling(es, settings).drain()
        alias = alias_name(settings.elasticsearch_index_prefix)
        await es.indices.refresh(index=alias)
        doc = await es.get(index=alias, id=lid)
        assert doc["_source"]["review_summary"]["count"] == 1
        assert doc["_source"]["review_summary"]["average"] == 3.0
        assert doc["_version"] == (await listing_doc(lid)).version
    finally:
        await es.close()
