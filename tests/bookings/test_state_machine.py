"""The booking state machine: legal moves, every illegal move (409), every wrong party
(403 for the other participant, 404 for outsiders), expiry, exactly-once release, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from bson import ObjectId
from fastapi import FastAPI

from documents import Booking, BookingStatus, Unit
from documents.values import utcnow
from service.app import create_app
from service.availability import claims
from service.bookings.service import sweep
from service.pricing import breakdown
from tests.bookings.support import (
    assert_availability_matches_bookings,
    book_nights,
    listing_doc,
    pooled,
    provider_of,
    publish,
)
from tests.conftest import Account, MakeUser, make_settings
from tests.services import RedisServer

ACTIONS = ("accept", "decline", "cancel", "complete")
LEGAL = {
    ("requested", "accept"),
    ("requested", "decline"),
    ("requested", "cancel"),  # the guest withdraws the request
    ("accepted", "cancel"),
}
# ("accepted", "complete") is legal too but only after the end; see test_complete_only_after_end.


async def _act(client: httpx.AsyncClient, who: Account, bid: str, action: str) -> httpx.Response:
    return await client.post(f"/v1/bookings/{bid}/{action}", headers=who.headers)


async def _booking_in(
    state: str,
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
) -> tuple[str, str]:
    listing = await publish(client, host)
    bid = (await book_nights(client, guest, listing["id"], start=20))["id"]
    if state in ("accepted", "cancelled", "completed"):
        assert (await _act(client, host, bid, "accept")).status_code == 200
    if state == "declined":
        assert (await _act(client, host, bid, "decline")).status_code == 200
    if state in ("cancelled", "withdrawn"):
        assert (await _act(client, guest, bid, "cancel")).status_code == 200
    if state == "completed":
        clock(timedelta(days=40))
        assert (await _act(client, host, bid, "complete")).status_code == 200
        clock(timedelta(0))
    if state == "expired":
        counts = await sweep(provider_of(app), utcnow() + timedelta(days=2))
        assert counts["expired"] == 1
    r = await client.get(f"/v1/bookings/{bid}", headers=guest.headers)
    assert r.json()["status"] == state
    return listing["id"], bid


@pytest.mark.parametrize(
    "state", ["requested", "accepted", "declined", "expired", "cancelled", "withdrawn", "completed"]
)
async def test_every_illegal_transition_is_409(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
    state: str,
) -> None:
    lid, bid = await _booking_in(state, client, app, host, guest, clock)
    before = await listing_doc(lid)
    for action in ACTIONS:
        if (state, action) in LEGAL:
            continue
        actor = guest if action == "cancel" else host
        r = await _act(client, actor, bid, action)
        assert r.status_code == 409, (state, action, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    after = await listing_doc(lid)
    assert after.version == before.version  # a refused move never touches availability
    status = (await client.get(f"/v1/bookings/{bid}", headers=host.headers)).json()["status"]
    assert status == state
    await assert_availability_matches_bookings(lid)


async def test_wrong_parties(
    client: httpx.AsyncClient, host: Account, guest: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host)
    bid = (await book_nights(client, guest, listing["id"]))["id"]
    stranger = await make_user(["guest"])
    other_host = await make_user(["host", "guest"])
    # The guest is a participant but may not act for the host: 403.
    for action in ("accept", "decline", "complete"):
        r = await _act(client, guest, bid, action)
        assert r.status_code == 403, (action, r.text)
    # Outsiders may not even know it exists: 404 for everything.
    for who in (stranger, other_host):
        for action in ACTIONS:
            assert (await _act(client, who, bid, action)).status_code == 404
        assert (await client.get(f"/v1/bookings/{bid}", headers=who.headers)).status_code == 404
        r = await client.post(f"/v1/bookings/{bid}/payment", headers=who.headers)
        assert r.status_code == 404
    # The host is not the payer; anonymous callers are 401; unknown ids 404.
    r = await client.post(f"/v1/bookings/{bid}/payment", headers=host.headers)
    assert r.status_code == 403
    assert (await client.post(f"/v1/bookings/{bid}/accept")).status_code == 401
    assert (await _act(client, host, "0" * 24, "accept")).status_code == 404
    assert (await _act(client, host, "not-an-id", "accept")).status_code == 404
    # Still requested: nothing above changed it.
    r = await client.get(f"/v1/bookings/{bid}", headers=host.headers)
    assert r.json()["status"] == "requested"


async def test_lists_are_per_party_and_paged(
    client: httpx.AsyncClient, host: Account, guest: Account, make_user: MakeUser
) -> None:
    listing = await publish(client, host)
    ids = [
        (await book_nights(client, guest, listing["id"], start=10 + 3 * i))["id"] for i in range(5)
    ]
    other = await make_user(["guest"])
    await book_nights(client, other, listing["id"], start=40)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"as": "guest", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/v1/bookings", params=params, headers=guest.headers)
        assert r.status_code == 200, r.text
        seen += [b["id"] for b in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once
    r = await client.get("/v1/bookings", params={"as": "host"}, headers=host.headers)
    assert len(r.json()["items"]) == 6
    r = await client.get(
        "/v1/bookings", params={"as": "host", "status": "accepted"}, headers=host.headers
    )
    assert r.json()["items"] == []
    r = await client.get("/v1/bookings", params={"cursor": "garbage"}, headers=guest.headers)
    assert r.status_code == 422


async def test_complete_only_after_end(
    client: httpx.AsyncClient, host: Account, guest: Account, clock: Callable[[timedelta], None]
) -> None:
    listing = await publish(client, host, rules={"instant_book": True})
    bid = (await book_nights(client, guest, listing["id"], start=5, n=2))["id"]
    r = await _act(client, host, bid, "complete")
    assert r.status_code == 409
    clock(timedelta(days=7, minutes=1))
    r = await _act(client, host, bid, "complete")
    assert r.status_code == 200 and r.json()["status"] == "completed"


@pytest.mark.stores
async def test_racing_actors_exactly_one_wins(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    listing = await publish(client, host)
    bid = (await book_nights(client, guest, listing["id"]))["id"]
    results = await asyncio.gather(
        *[_act(client, host, bid, "accept") for _ in range(10)],
        *[_act(client, host, bid, "decline") for _ in range(10)],
    )
    assert sorted(r.status_code for r in results).count(200) == 1
    assert all(r.status_code in (200, 409) for r in results)
    await assert_availability_matches_bookings(listing["id"])

    bid2 = (await book_nights(client, guest, listing["id"], start=60))["id"]
    assert (await _act(client, host, bid2, "accept")).status_code == 200
    version = (await listing_doc(listing["id"])).version
    results = await asyncio.gather(
        *[_act(client, guest, bid2, "cancel") for _ in range(5)],
        *[_act(client, host, bid2, "cancel") for _ in range(5)],
    )
    assert [r.status_code for r in results].count(200) == 1
    after = await listing_doc(listing["id"])
    assert after.version == version + 1  # released exactly once
    await assert_availability_matches_bookings(listing["id"])


async def test_expiry_releases_once_and_blocks_late_accept(
    client: httpx.AsyncClient,
    app: FastAPI,
    host: Account,
    guest: Account,
    clock: Callable[[timedelta], None],
) -> None:
    listing = await publish(client, host, unit="item", stock=3, capacity=1)
    r = await client.post(
        "/v1/bookings", json={"listing_id": listing["id"], "quantity": 2}, headers=guest.headers
    )
    bid = r.json()["id"]
    assert (await listing_doc(listing["id"])).availability.stock_left == 1
    # Lazily: the host acts after the request expired.
    clock(timedelta(days=2))
    r = await _act(client, host, bid, "accept")
    assert r.status_code == 409 and r.json()["current_status"] == "expired"
    assert (await listing_doc(listing["id"])).availability.stock_left == 3
    # The sweeper finds nothing more to release.
    version = (await listing_doc(listing["id"])).version
    await sweep(provider_of(app), utcnow() + timedelta(days=3))
    assert (await listing_doc(listing["id"])).version == version
    assert (await listing_doc(listing["id"])).availability.stock_left == 3


async def test_recovery_of_crashed_requests(
    client: httpx.AsyncClient, app: FastAPI, host: Account, guest: Account
) -> None:
    """A crash after insert (and maybe after the claim) leaves a `pending` booking; the sweeper
    fails it after the grace period and gives back whatever it holds, exactly once."""
    listing_json = await publish(client, host, unit="hour", capacity=4)
    listing = await listing_doc(listing_json["id"])
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)

    def pending(seats: int) -> Booking:
        return Booking(
            listing_id=str(listing.id),
            guest_id=guest.id,
            host_id=host.id,
            unit=Unit.hour,
            start=start,
            end=start + timedelta(hours=2),
            seats=seats,
            price=breakdown(listing.price, 2 * seats, commission_bps=1500, guest_fee_bps=500),
            expires_at=utcnow() + timedelta(seconds=120),
        )

    claimed, unclaimed = pending(3), pending(1)
    await claimed.insert()
    await unclaimed.insert()
    assert await claims.claim(listing, claimed) is not None  # ... and then the process died
    doc = await listing_doc(str(listing.id))
    assert sum(doc.availability.hour_seats.values()) == 6
    # Within the grace period the sweeper leaves them alone (they may still be in flight).
    assert (await sweep(provider_of(app)))["failed"] == 0
    counts = await sweep(provider_of(app), utcnow() + timedelta(minutes=5))
    assert counts["failed"] == 2
    doc = await listing_doc(str(listing.id))
    assert doc.availability.holds == [] and sum(doc.availability.hour_seats.values()) == 0
    for b in (claimed, unclaimed):
        raw = await Booking.get_motor_collection().find_one({"_id": ObjectId(str(b.id))})
        assert raw["status"] == BookingStatus.failed and raw["released"] and raw["finalized"]
    # Hidden from everyone; a second sweep is a no-op.
    r = await client.get("/v1/bookings", headers=guest.headers)
    assert r.json()["items"] == []
    version = doc.version
    assert await sweep(provider_of(app), utcnow() + timedelta(minutes=10)) == {
        "expired": 0,
        "failed": 0,
        "finalized": 0,
    }
    assert (await listing_doc(str(listing.id))).version == version
    # Released seats are bookable again, up to capacity.
    assert await claims.release(claimed) is False
    await assert_availability_matches_bookings(str(listing.id))


async def test_background_sweeper_expires_requests(redis_server: RedisServer) -> None:
    """The lifespan starts the sweeper: an unanswered request expires and is released."""
    settings = make_settings(
        pooled(redis_server.url),
        None,
        rate_limit_enabled=False,
        booking_request_ttl_s=1,
        booking_sweep_interval_s=0.05,
    )
    application = create_app(settings)
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            host = await _register(c, ["host"])
            guest = await _register(c, ["guest"])
            listing = await publish(c, host)
            bid = (await book_nights(c, guest, listing["id"]))["id"]
            status = "requested"
            for _ in range(100):
                await asyncio.sleep(0.05)
                r = await c.get(f"/v1/bookings/{bid}", headers=guest.headers)
                status = r.json()["status"]
                if status == "expired":
                    break
            assert status == "expired"
            assert (await listing_doc(listing["id"])).availability.holds == []


async def _register(c: httpx.AsyncClient, roles: list[str]) -> Account:
    email = f"s{ObjectId()}@example.com"
    creds = {"email": email, "password": "correct horse battery"}
    r = await c.post("/v1/auth/register", json={**creds, "display_name": "S", "roles": roles})
    assert r.status_code == 201, r.text
    token = (await c.post("/v1/auth/login", json=creds)).json()["token"]
    c.cookies.clear()
    return Account(
        id=r.json()["id"], email=email, password=creds["password"], token=token, roles=roles
    )
