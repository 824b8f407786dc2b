"""GDPR: the export holds everything about the caller; erasure anonymises, revokes sessions,
keeps bookings and ledger entries without personal data, and takes the listings out of search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from elasticsearch import AsyncElasticsearch

from documents import (
    AuditEvent,
    Booking,
    EntryKind,
    LedgerEntry,
    Listing,
    Message,
    Payment,
    Payout,
    Review,
    User,
)
from documents.values import Money
from indexers.aliases import ensure_index
from indexers.rebuild import verify
from indexers.runner import Indexer
from service import audit
from service.core.config import Settings
from tests.conftest import Account, MakeUser, listing_body

pytestmark = pytest.mark.stores  # embedded and server tiers


def _night(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def _published(client: httpx.AsyncClient, host: Account, **kw: Any) -> str:
    r = await client.post("/v1/listings", json=listing_body(**kw), headers=host.headers)
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    assert (
        await client.post(f"/v1/listings/{lid}/publish", headers=host.headers)
    ).status_code == 200
    return lid


async def _world(client: httpx.AsyncClient, make_user: MakeUser) -> dict[str, Any]:
    """A host+guest `me` with a listing, a conversation, bookings both ways, money records."""
    me = await make_user(["guest", "host"])
    other = await make_user(["guest", "host"])
    mine = await _published(client, me, title="Erasable canal loft")
    theirs = await _published(client, other, title="Someone else's barn")
    convo = await client.post(
        "/v1/conversations",
        json={"listing_id": theirs, "text": "hello from me"},
        headers=me.headers,
    )
    assert convo.status_code == 201, convo.text
    cid = convo.json()["id"]
    reply = await client.post(
        f"/v1/conversations/{cid}/messages", json={"text": "reply to me"}, headers=other.headers
    )
    assert reply.status_code == 201
    as_guest = await client.post(
        "/v1/bookings",
        json={"listing_id": theirs, "check_in": _night(30), "check_out": _night(32), "guests": 1},
        headers=me.headers,
    )
    assert as_guest.status_code == 201, as_guest.text
    as_host = await client.post(
        "/v1/bookings",
        json={"listing_id": mine, "check_in": _night(40), "check_out": _night(41), "guests": 1},
        headers=other.headers,
    )
    assert as_host.status_code == 201, as_host.text
    bid = as_guest.json()["id"]
    eur = Money(amount=1000, currency="EUR")
    await Payment(
        booking_id=bid,
        guest_id=me.id,
        provider="builtin",
        provider_intent_id=f"pi_{bid}",
        amount=eur,
    ).insert()
    await Payout(host_id=me.id, booking_id=as_host.json()["id"], amount=eur).insert()
    await LedgerEntry(
        txn_id=f"t{bid}",
        leg=0,
        account=f"guest:{me.id}",
        amount=-1000,
        currency="EUR",
        kind=EntryKind.capture,
        booking_id=bid,
    ).insert()
    await LedgerEntry(
        txn_id=f"t{bid}",
        leg=1,
        account="provider:clearing",
        amount=1000,
        currency="EUR",
        kind=EntryKind.capture,
        booking_id=bid,
    ).insert()
    await Review(
        booking_id=bid, listing_id=theirs, guest_id=me.id, rating=5, text="lovely"
    ).insert()
    await audit.record(audit.ROLES_CHANGED, actor_id="admin", subject_id=me.id, roles=["host"])
    return {
        "me": me,
        "other": other,
        "mine": mine,
        "theirs": theirs,
        "cid": cid,
        "as_guest": bid,
        "as_host": as_host.json()["id"],
    }


async def test_export_holds_everything_about_the_caller(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    w = await _world(client, make_user)
    me: Account = w["me"]
    r = await client.get("/v1/me/export", headers=me.headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["profile"]["id"] == me.id and data["profile"]["email"] == me.email
    assert "password_hash" not in r.text and me.token not in r.text
    assert [x["id"] for x in data["listings"]] == [w["mine"]]
    assert [b["id"] for b in data["bookings_as_guest"]] == [w["as_guest"]]
    assert [b["id"] for b in data["bookings_as_host"]] == [w["as_host"]]
    assert [c["id"] for c in data["conversations"]] == [w["cid"]]
    assert {m["text"] for m in data["messages"]} == {"hello from me", "reply to me"}
    assert len(data["payments"]) == 1 and len(data["payouts"]) == 1
    assert [e["account"] for e in data["ledger_entries"]] == [f"guest:{me.id}"]
    assert [rv["text"] for rv in data["reviews"]] == ["lovely"]
    assert audit.ROLES_CHANGED in {e["action"] for e in data["audit_events"]}
    # Nothing of the other user's own data leaks into it.
    assert w["theirs"] not in {x["id"] for x in data["listings"]}
    assert w["other"].email not in r.text
    assert (await client.get("/v1/me/export")).status_code == 401


async def test_erasure_anonymises_revokes_keeps_records_and_leaves_search(
    client: httpx.AsyncClient, make_user: MakeUser, settings: Settings
) -> None:
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    try:
        prefix = settings.elasticsearch_index_prefix
        await ensure_index(es, prefix)
        w = await _world(client, make_user)
        me: Account = w["me"]
        indexer = Indexer.polling(es, settings)
        await indexer.drain()
        await es.indices.refresh(index=f"{prefix}*")
        found = await client.get("/v1/search/listings", params={"q": "Erasable"})
        assert w["mine"] in {h["id"] for h in found.json()["hits"]}
        second = await client.post(
            "/v1/auth/login", json={"email": me.email, "password": me.password}
        )
        other_session = {"Authorization": f"Bearer {second.json()['token']}"}
        version_before = (await Listing.get(ObjectId(w["mine"]))).version  # type: ignore[union-attr]

        r = await client.delete("/v1/me", headers=me.headers)
        assert r.status_code == 202, r.text
        assert r.json()["erased"] == {
            "messages": 1,
            "sessions": 2,
            "listings": 1,
            "wishlist": 0,
            "saved_searches": 0,
            "notifications": 0,
        }

        user = await User.get(ObjectId(me.id))
        assert user is not None and user.erased_at is not None
        assert user.email == f"erased-{me.id}@invalid"
        assert user.display_name != "Test User" and user.bio == ""
        assert not user.password_hash.startswith("$argon2")
        for headers in (me.headers, other_session):
            assert (await client.get("/v1/me", headers=headers)).status_code == 401
        login = await client.post(
            "/v1/auth/login", json={"email": me.email, "password": me.password}
        )
        assert login.status_code == 401
        texts = {m.sender_id: m.text for m in await Message.find_all().to_list()}
        assert texts[me.id] != "hello from me" and texts[w["other"].id] == "reply to me"

        listing = await Listing.get(ObjectId(w["mine"]))
        assert listing is not None and listing.deleted_at is not None
        assert listing.version == version_before + 1  # through the writer path
        # Legal records stay, pointing at the anonymous id only.
        assert await Booking.find(Booking.guest_id == me.id).count() == 1
        assert await Booking.find(Booking.host_id == me.id).count() == 1
        assert await LedgerEntry.find(LedgerEntry.account == f"guest:{me.id}").count() == 1
        assert await Payout.find(Payout.host_id == me.id).count() == 1
        erased = await AuditEvent.find(AuditEvent.action == audit.ACCOUNT_ERASED).to_list()
        assert len(erased) == 1 and erased[0].subject_id == me.id
        assert me.email not in str(erased[0].data)

        await indexer.drain()
        await es.indices.refresh(index=f"{prefix}*")
        gone = await client.get("/v1/search/listings", params={"q": "Erasable"})
        assert w["mine"] not in {h["id"] for h in gone.json()["hits"]}
        drift = await verify(es, prefix)
        assert not drift.missing and not drift.extra and not drift.stale
    finally:
        await es.close()
