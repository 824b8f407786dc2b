"""Table-driven access control over EVERY operation in the OpenAPI schema.

Each row builds fresh resources owned by `owner` (so a mutating call never disturbs another row),
then calls the operation as anonymous, as an unrelated signed-in user (host+guest, so roles never
mask ownership checks) and as the owner/participant, and compares statuses. The table must cover
every (method, path) the app publishes: a new route without a row fails the coverage test.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from documents import Role
from service.accounts.service import set_roles
from service.payments.signing import SIGNATURE_HEADER, sign
from tests.conftest import listing_body
from tests.hardening.conftest import AppFactory

ANON, STRANGER, OWNER = "anonymous", "stranger", "owner"


@dataclass
class Actor:
    id: str
    email: str
    headers: dict[str, str]


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    host: Actor
    guest: Actor
    stranger: Actor
    admin: Actor
    made: dict[str, Any] = field(default_factory=dict)

    async def user(self, roles: list[str]) -> Actor:
        email = f"ac-{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": "long enough pw", "display_name": "A", "roles": roles}
        r = await self.client.post("/v1/auth/register", json=body)
        assert r.status_code == 201, r.text
        return Actor(r.json()["id"], email, await self.login(email))

    async def login(self, email: str) -> dict[str, str]:
        r = await self.client.post(
            "/v1/auth/login", json={"email": email, "password": "long enough pw"}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    async def listing(self, published: bool = True) -> str:
        r = await self.client.post("/v1/listings", json=listing_body(), headers=self.host.headers)
        assert r.status_code == 201, r.text
        lid = r.json()["id"]
        if published:
            p = await self.client.post(f"/v1/listings/{lid}/publish", headers=self.host.headers)
            assert p.status_code == 200, p.text
        return lid

    async def booking(self) -> str:
        lid = await self.listing()
        self.made["nights"] = self.made.get("nights", 10) + 3
        start = datetime.now(UTC).date() + timedelta(days=self.made["nights"])
        r = await self.client.post(
            "/v1/bookings",
            json={
                "listing_id": lid,
                "check_in": start.isoformat(),
                "check_out": (start + timedelta(days=2)).isoformat(),
                "guests": 1,
            },
            headers=self.guest.headers,
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def conversation(self) -> str:
        lid = await self.listing()
        r = await self.client.post(
            "/v1/conversations", json={"listing_id": lid, "text": "hi"}, headers=self.guest.headers
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]


# A call: (url, json body or None, extra headers). `who` is the actor about to call, so rows for
# per-session operations (logout, erase) can hand each caller a throwaway session of their own.
Call = tuple[str, Any, dict[str, str]]
Build = Callable[[World], Awaitable[Callable[[str], Awaitable[Call]]]]


def fixed(url: str, body: Any = None) -> Build:
    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        async def per_actor(who: str) -> Call:
            return url, body, {}

        return per_actor

    return build


def on(make: Callable[[World], Awaitable[str]], template: str, body: Any = None) -> Build:
    """A fresh resource per row (built by the owner), substituted into the path."""

    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        rid = await make(w)

        async def per_actor(who: str) -> Call:
            return template.format(rid), body, {}

        return per_actor

    return build


def create_on(
    make: Callable[[World], Awaitable[str]], url: str, body: Callable[[str, int], Any]
) -> Build:
    """Creation routes: the body names a fresh resource; each caller gets a distinct body."""

    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        rid = await make(w)

        async def per_actor(who: str) -> Call:
            return url, body(rid, [ANON, STRANGER, OWNER].index(who)), {}

        return per_actor

    return build


FX_TABLE = {"base": "EUR", "rates": {"USD": "1.0832", "KRW": "1456.2"}}


def fx_table_set(url: str) -> Build:
    """A public read of the exchange-rate table, after the admin has set one."""

    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        r = await w.client.put("/v1/admin/fx", json=FX_TABLE, headers=w.admin.headers)
        assert r.status_code == 200, r.text

        async def per_actor(who: str) -> Call:
            return url, None, {}

        return per_actor

    return build


def own_session(url: str) -> Build:
    """Operations that end a session or an account: every caller acts on a throwaway user."""

    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        async def per_actor(who: str) -> Call:
            if who == ANON:
                return url, None, {}
            throwaway = await w.user(["guest"])
            return url, None, throwaway.headers

        return per_actor

    return build


def webhook() -> Build:
    async def build(w: World) -> Callable[[str], Awaitable[Call]]:
        async def per_actor(who: str) -> Call:
            body = {"id": f"evt_{uuid.uuid4().hex}", "type": "ping", "data": {"object": {}}}
            if who != OWNER:  # a signed-in user is not the provider: no signature, no entry
                return "/v1/payments/webhook", body, {}
            raw = orjson.dumps(body)
            secret = w.app.state.settings.webhook_secret.get_secret_value()
            return "/v1/payments/webhook", raw, {SIGNATURE_HEADER: sign(secret, raw)}

        return per_actor

    return build


async def _draft(w: World) -> str:
    return await w.listing(published=False)


async def _published(w: World) -> str:
    return await w.listing()


async def _booking(w: World) -> str:
    return await w.booking()


async def _accepted_booking(w: World) -> str:
    bid = await w.booking()
    r = await w.client.post(f"/v1/bookings/{bid}/accept", headers=w.host.headers)
    assert r.status_code == 200, r.text
    return bid


async def _paying_booking(w: World) -> str:
    bid = await w.booking()
    r = await w.client.post(f"/v1/bookings/{bid}/payment", headers=w.guest.headers)
    assert r.status_code == 201, r.text
    return bid


def _nights(rid: str, i: int) -> dict[str, Any]:
    start = datetime.now(UTC).date() + timedelta(days=200 + 5 * i)
    return {
        "listing_id": rid,
        "check_in": start.isoformat(),
        "check_out": (start + timedelta(days=2)).isoformat(),
        "guests": 1,
    }


async def _conversation(w: World) -> str:
    return await w.conversation()


async def _saved_search(w: World) -> str:
    r = await w.client.post(
        "/v1/me/saved-searches", json={"name": "s", "params": {"q": "loft"}}, headers=w.host.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@dataclass
class Row:
    build: Build
    expect: dict[str, int | set[int]]
    owner: str = "host"  # which World actor plays the owner/participant column
    # The other party of a two-sided resource (e.g. the guest on a host-only action), called
    # after the stranger and before the owner: (World actor, expected status).
    other: tuple[str, int | set[int]] | None = None


B = "/v1/bookings/{}"
L = "/v1/listings/{}"
C = "/v1/conversations/{}"

TABLE: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(fixed("/healthz"), {ANON: 200, STRANGER: 200, OWNER: 200}),
    ("GET", "/readyz"): Row(fixed("/readyz"), {ANON: 200, STRANGER: 200, OWNER: 200}),
    # Only with the metrics token (tests/hardening/test_metrics_token.py).
    ("GET", "/metrics"): Row(fixed("/metrics"), {ANON: 401, STRANGER: 401, OWNER: 401}),
    ("POST", "/v1/auth/register"): Row(
        fixed("/v1/auth/register", {"email": "x@example.com", "password": "p", "display_name": ""}),
        {ANON: 422, STRANGER: 422, OWNER: 422},
    ),
    ("POST", "/v1/auth/login"): Row(
        fixed("/v1/auth/login", {"email": "nobody@example.com", "password": "wrong password"}),
        {ANON: 401, STRANGER: 401, OWNER: 401},
    ),
    ("POST", "/v1/auth/logout"): Row(
        own_session("/v1/auth/logout"), {ANON: 401, STRANGER: 204, OWNER: 204}
    ),
    ("POST", "/v1/auth/logout-all"): Row(
        own_session("/v1/auth/logout-all"), {ANON: 401, STRANGER: 204, OWNER: 204}
    ),
    ("GET", "/v1/me"): Row(fixed("/v1/me"), {ANON: 401, STRANGER: 200, OWNER: 200}),
    ("DELETE", "/v1/me"): Row(own_session("/v1/me"), {ANON: 401, STRANGER: 202, OWNER: 202}),
    ("GET", "/v1/me/export"): Row(fixed("/v1/me/export"), {ANON: 401, STRANGER: 200, OWNER: 200}),
    # Listings: someone else's draft does not exist for you (404); their published listing is
    # visible but not yours to change (403).
    ("POST", "/v1/listings"): Row(
        fixed("/v1/listings", listing_body()), {ANON: 401, STRANGER: 201, OWNER: 201}
    ),
    ("GET", "/v1/listings"): Row(
        fixed("/v1/listings?owner=me"), {ANON: 401, STRANGER: 200, OWNER: 200}
    ),
    ("GET", "/v1/listings/{listing_id}"): Row(
        on(_draft, L), {ANON: 404, STRANGER: 404, OWNER: 200}
    ),
    ("PATCH", "/v1/listings/{listing_id}"): Row(
        on(_draft, L, {"title": "Changed"}), {ANON: 401, STRANGER: 404, OWNER: 200}
    ),
    ("DELETE", "/v1/listings/{listing_id}"): Row(
        on(_published, L), {ANON: 401, STRANGER: 403, OWNER: 204}
    ),
    ("POST", "/v1/listings/{listing_id}/publish"): Row(
        on(_draft, L + "/publish"), {ANON: 401, STRANGER: 404, OWNER: 200}
    ),
    ("POST", "/v1/listings/{listing_id}/close"): Row(
        on(_published, L + "/close"), {ANON: 401, STRANGER: 403, OWNER: 200}
    ),
    ("GET", "/v1/listings/{listing_id}/availability"): Row(
        on(_draft, L + "/availability?from=2031-01-01&to=2031-01-10"),
        {ANON: 404, STRANGER: 404, OWNER: 200},
    ),
    ("PUT", "/v1/listings/{listing_id}/availability/blocks"): Row(
        on(_published, L + "/availability/blocks", [{"start": "2031-02-01", "end": "2031-02-03"}]),
        {ANON: 401, STRANGER: 403, OWNER: 200},
    ),
    ("GET", "/v1/listings/{listing_id}/reviews"): Row(
        on(_draft, L + "/reviews"), {ANON: 404, STRANGER: 404, OWNER: 200}
    ),
    ("GET", "/v1/search/listings"): Row(
        fixed("/v1/search/listings"), {ANON: 200, STRANGER: 200, OWNER: 200}
    ),
    ("GET", "/v1/search/map"): Row(
        fixed("/v1/search/map?bbox=-180,-85,180,85&zoom=3"), {ANON: 200, STRANGER: 200, OWNER: 200}
    ),
    # Similar listings of a draft: it does not exist for anyone (not indexed), owner included.
    ("GET", "/v1/listings/{listing_id}/similar"): Row(
        on(_draft, L + "/similar"), {ANON: 404, STRANGER: 404, OWNER: 404}
    ),
    # Wishlists are the caller's own: saving someone's draft is 404, a published listing 204.
    ("PUT", "/v1/me/wishlist/{listing_id}"): Row(
        on(_draft, "/v1/me/wishlist/{}"), {ANON: 401, STRANGER: 404, OWNER: 204}
    ),
    ("DELETE", "/v1/me/wishlist/{listing_id}"): Row(
        on(_published, "/v1/me/wishlist/{}"), {ANON: 401, STRANGER: 204, OWNER: 204}
    ),
    ("GET", "/v1/me/wishlist"): Row(
        fixed("/v1/me/wishlist"), {ANON: 401, STRANGER: 200, OWNER: 200}
    ),
    # Saved searches and notifications: someone else's is 404.
    ("POST", "/v1/me/saved-searches"): Row(
        fixed("/v1/me/saved-searches", {"name": "s", "params": {}}),
        {ANON: 401, STRANGER: 201, OWNER: 201},
    ),
    ("GET", "/v1/me/saved-searches"): Row(
        fixed("/v1/me/saved-searches"), {ANON: 401, STRANGER: 200, OWNER: 200}
    ),
    ("DELETE", "/v1/me/saved-searches/{saved_search_id}"): Row(
        on(_saved_search, "/v1/me/saved-searches/{}"), {ANON: 401, STRANGER: 404, OWNER: 204}
    ),
    ("GET", "/v1/me/notifications"): Row(
        fixed("/v1/me/notifications"), {ANON: 401, STRANGER: 200, OWNER: 200}
    ),
    ("POST", "/v1/me/notifications/read"): Row(
        fixed("/v1/me/notifications/read", {"all": True}), {ANON: 401, STRANGER: 200, OWNER: 200}
    ),
    ("GET", "/v1/search/suggest"): Row(
        fixed("/v1/search/suggest?q=su"), {ANON: 200, STRANGER: 200, OWNER: 200}
    ),
    # Bookings: a stranger never learns a booking exists (404).
    ("POST", "/v1/bookings"): Row(
        create_on(_published, "/v1/bookings", _nights),
        {ANON: 401, STRANGER: 201, OWNER: 201},
        "guest",
    ),
    ("GET", "/v1/bookings"): Row(
        fixed("/v1/bookings?as=guest"), {ANON: 401, STRANGER: 200, OWNER: 200}, "guest"
    ),
    ("GET", "/v1/bookings/{booking_id}"): Row(
        on(_booking, B), {ANON: 401, STRANGER: 404, OWNER: 200}, "guest", ("host", 200)
    ),
    ("POST", "/v1/bookings/{booking_id}/accept"): Row(
        on(_booking, B + "/accept"), {ANON: 401, STRANGER: 404, OWNER: 200}, other=("guest", 403)
    ),
    ("POST", "/v1/bookings/{booking_id}/decline"): Row(
        on(_booking, B + "/decline"), {ANON: 401, STRANGER: 404, OWNER: 200}, other=("guest", 403)
    ),
    ("POST", "/v1/bookings/{booking_id}/cancel"): Row(
        on(_accepted_booking, B + "/cancel"), {ANON: 401, STRANGER: 404, OWNER: 200}, "guest"
    ),
    ("POST", "/v1/bookings/{booking_id}/complete"): Row(
        # Allowed for the owner but not before the stay ended: a state conflict, not a 403.
        on(_accepted_booking, B + "/complete"),
        {ANON: 401, STRANGER: 404, OWNER: 409},
        other=("guest", 403),
    ),
    ("POST", "/v1/bookings/{booking_id}/payment"): Row(
        on(_booking, B + "/payment"),
        {ANON: 401, STRANGER: 404, OWNER: {201, 409}},
        "guest",
        ("host", 403),
    ),
    ("POST", "/v1/bookings/{booking_id}/review"): Row(
        # Only the guest of a *completed* booking may review; this one is not completed.
        on(_booking, B + "/review", {"rating": 5, "text": "great"}),
        {ANON: 401, STRANGER: 404, OWNER: 403},
        "guest",
        ("host", 403),
    ),
    ("GET", "/v1/bookings/{booking_id}/payment"): Row(
        on(_paying_booking, B + "/payment"),
        {ANON: 401, STRANGER: 404, OWNER: 200},
        "guest",
        ("host", 200),
    ),
    # Test mode: the client secret is the credential (as with a provider's client SDK), not a
    # session; an unknown one is 404 for everybody.
    ("POST", "/v1/payments/test/confirm"): Row(
        fixed("/v1/payments/test/confirm", {"client_secret": "pi_secret_unknown"}),
        {ANON: 404, STRANGER: 404, OWNER: 404},
    ),
    ("POST", "/v1/payments/webhook"): Row(webhook(), {ANON: 400, STRANGER: 400, OWNER: 200}),
    ("GET", "/v1/payouts"): Row(fixed("/v1/payouts"), {ANON: 401, STRANGER: 200, OWNER: 200}),
    # Conversations: only participants (404 for everyone else).
    ("POST", "/v1/conversations"): Row(
        create_on(
            _published, "/v1/conversations", lambda rid, i: {"listing_id": rid, "text": "hi"}
        ),
        {ANON: 401, STRANGER: 201, OWNER: 201},
        "guest",
    ),
    ("GET", "/v1/conversations"): Row(
        fixed("/v1/conversations"), {ANON: 401, STRANGER: 200, OWNER: 200}, "guest"
    ),
    ("POST", "/v1/conversations/{conversation_id}/messages"): Row(
        on(_conversation, C + "/messages", {"text": "hello"}),
        {ANON: 401, STRANGER: 404, OWNER: 201},
    ),
    ("GET", "/v1/conversations/{conversation_id}/messages"): Row(
        on(_conversation, C + "/messages"),
        {ANON: 401, STRANGER: 404, OWNER: 200},
        "guest",
        ("host", 200),
    ),
    ("GET", "/v1/admin/reports/revenue"): Row(
        fixed("/v1/admin/reports/revenue?from=2026-01-01&to=2026-12-31"),
        {ANON: 401, STRANGER: 403, OWNER: 200},
        "admin",
    ),
    ("PUT", "/v1/admin/fx"): Row(
        fixed("/v1/admin/fx", FX_TABLE),
        {ANON: 401, STRANGER: 403, OWNER: 200},
        "admin",
    ),
    # Public: the rates search converts with.
    ("GET", "/v1/fx"): Row(fx_table_set("/v1/fx"), {ANON: 200, STRANGER: 200, OWNER: 200}),
}


def schema_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_the_table_covers_every_operation_in_the_schema(app: FastAPI) -> None:
    ops = schema_operations(app)
    missing = sorted(ops - set(TABLE))
    assert not missing, f"operations without an access-control row: {missing}"
    stale = sorted(set(TABLE) - ops)
    assert not stale, f"rows for operations the schema no longer has: {stale}"


async def test_access_control_table(app_with: AppFactory) -> None:
    async with app_with(rate_limit_enabled=False) as (app, client):
        ops = schema_operations(app)
        w = World(app, client, *(Actor("", "", {}) for _ in range(4)))
        w.host = await w.user(["host"])
        w.guest = await w.user(["guest"])
        w.stranger = await w.user(["guest", "host"])
        w.admin = await w.user(["guest"])
        await set_roles(w.admin.id, [Role.guest, Role.admin], actor_id="test")
        mismatches = []
        for (method, path), row in sorted(TABLE.items()):
            if (method, path) not in ops:
                continue
            per_actor = await row.build(w)
            owner = getattr(w, row.owner)
            callers: list[tuple[str, dict[str, str], int | set[int]]] = [
                (ANON, {}, row.expect[ANON]),
                (STRANGER, w.stranger.headers, row.expect[STRANGER]),
            ]
            if row.other is not None:
                name, expected = row.other
                callers.append((f"other party ({name})", getattr(w, name).headers, expected))
            callers.append((OWNER, owner.headers, row.expect[OWNER]))
            for who, headers, want in callers:
                url, body, extra = await per_actor(who if who in row.expect else STRANGER)
                hdrs = {**headers, **extra}
                if isinstance(body, bytes):
                    hdrs["Content-Type"] = "application/json"
                    r = await client.request(method, url, content=body, headers=hdrs)
                else:
                    r = await client.request(method, url, json=body, headers=hdrs)
                ok = r.status_code in want if isinstance(want, set) else r.status_code == want
                if not ok:
                    mismatches.append(f"{method} {path} as {who}: {r.status_code} != {want}")
                if r.status_code >= 400:
                    assert r.headers["content-type"] == "application/problem+json", (path, who)
                assert r.status_code < 500, (method, path, who, r.text)
        assert not mismatches, "\n".join(mismatches)
