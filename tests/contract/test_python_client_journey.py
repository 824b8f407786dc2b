"""The guest journey through a Python client generated from the live /openapi.json, and that
client alone (the dead ends #5-#9 an app team hit, end to end).

`openapi-python-client` (in .venv) generates the client into a temp dir from the schema the
running app serves; the test imports it and drives it over the app's ASGI transport. Operations
are found by method and path, not by module name, so they survive operationId changes.

The last step checks that a 409 arrives as the generated `Problem` model, with its extension
member `current_status` typed too: the spec names one `Problem` schema for every error.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from elasticsearch import AsyncElasticsearch
from fastapi import FastAPI

from indexers.definition import alias_name
from indexers.runner import Indexer
from tests.conftest import listing_body

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
_KWARGS = re.compile(r'"method":\s*"(\w+)",\s*"url":\s*f?"([^"]+)"')


def generate(schema: dict[str, Any], where: Path) -> ModuleType:
    spec = where / "openapi.json"
    spec.write_text(json.dumps(schema))
    package = f"journey_client_{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [
            *(str(GENERATOR), "generate", "--meta", "none"),
            *("--path", str(spec), "--output-path", str(where / package)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (where / package / "client.py").exists(), done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(where))


def operations(pkg: ModuleType) -> dict[tuple[str, str], ModuleType]:
    """(METHOD, path template) -> the generated module of that operation."""
    api = importlib.import_module(f"{pkg.__name__}.api")
    found: dict[tuple[str, str], ModuleType] = {}
    for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
        module = importlib.import_module(info.name)
        kwargs = getattr(module, "_get_kwargs", None)
        if kwargs is None:
            continue
        match = _KWARGS.search(inspect.getsource(kwargs))
        if match:
            found[(match.group(1).upper(), match.group(2))] = module
    return found


def day(n: int) -> date:
    return (datetime.now(UTC) + timedelta(days=n)).date()


async def test_guest_journey_through_the_generated_client(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    live = await client.get("/openapi.json")
    assert live.status_code == 200
    pkg = generate(live.json(), tmp_path)
    ops = operations(pkg)
    models = importlib.import_module(f"{pkg.__name__}.models")

    def api_for(headers: dict[str, str] | None = None) -> Any:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers=headers or {},
        )
        return pkg.Client(base_url="http://testserver").set_async_httpx_client(http)

    async def call(c: Any, method: str, path: str, **kwargs: Any) -> Any:
        return await ops[(method, path)].asyncio_detailed(client=c, **kwargs)

    anonymous = api_for()

    async def account(roles: list[str]) -> Any:
        # A fresh cookie jar each: a login presenting another session revokes it (no fixation).
        anonymous = api_for()
        email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": "long enough pw", "display_name": "J", "roles": roles}
        r = await call(
            anonymous, "POST", "/v1/auth/register", body=models.RegisterIn.from_dict(body)
        )
        assert r.status_code == 201, r.content
        login = models.LoginIn(email=email, password="long enough pw")
        r = await call(anonymous, "POST", "/v1/auth/login", body=login)
        assert r.status_code == 200, r.content
        return api_for({"Authorization": f"Bearer {r.parsed.token}"})

    host, guest = await account(["host"]), await account(["guest"])

    async def published(**overrides: Any) -> str:
        body = models.ListingIn.from_dict(listing_body(**overrides))
        r = await call(host, "POST", "/v1/listings", body=body)
        assert r.status_code == 201, r.content
        lid = r.parsed.id
        r = await call(host, "POST", "/v1/listings/{listing_id}/publish", listing_id=lid)
        assert r.status_code == 200, r.content
        return lid

    request_only = await published(title="Request-only cabin")
    instant = await published(title="Instant studio", rules={"instant_book": True})

    settings = app.state.settings
    async with AsyncElasticsearch(settings.elasticsearch_url) as es:
        await Indexer.polling(es, settings).drain()
        await es.indices.refresh(index=alias_name(settings.elasticsearch_index_prefix))

    # Search with dates: the hits say how to book them (#8).
    found = await call(
        guest, "GET", "/v1/search/listings", check_in=day(30), check_out=day(32), limit=50
    )
    assert found.status_code == 200, found.content
    hits = {h.id: h for h in found.parsed.hits}
    assert {request_only, instant} <= set(hits)
    assert hits[request_only].instant_book is False and hits[instant].instant_book is True
    assert hits[instant].unit.value == "night" and hits[instant].min_nights == 1
    assert hits[instant].capacity >= 1

    # Book a request-only listing, withdraw it, book the same nights again (#5).
    nights = models.BookingNightsIn(listing_id=request_only, check_in=day(30), check_out=day(32))
    r = await call(guest, "POST", "/v1/bookings", body=nights)
    assert r.status_code == 201, r.content
    assert r.parsed.status.value == "requested"
    assert r.headers["location"] == f"/v1/bookings/{r.parsed.id}"
    r = await call(guest, "POST", "/v1/bookings/{booking_id}/cancel", booking_id=r.parsed.id)
    assert r.status_code == 200, r.content
    assert r.parsed.status.value == "withdrawn"
    again = await call(guest, "POST", "/v1/bookings", body=nights)
    assert again.status_code == 201, again.content
    assert again.parsed.status.value == "requested"

    # Book an instant listing, pay through test mode, see the payment succeed (#6).
    stay = models.BookingNightsIn(listing_id=instant, check_in=day(30), check_out=day(33))
    booked = await call(guest, "POST", "/v1/bookings", body=stay)
    assert booked.status_code == 201, booked.content
    bid = booked.parsed.id
    assert booked.parsed.status.value == "accepted"
    assert booked.parsed.payment_status.value == "none"
    started = await call(guest, "POST", "/v1/bookings/{booking_id}/payment", booking_id=bid)
    assert started.status_code == 201, started.content
    confirm = models.ConfirmTestPaymentIn(client_secret=started.parsed.client_secret)
    paid = await call(anonymous, "POST", "/v1/payments/test/confirm", body=confirm)
    assert paid.status_code == 200, paid.content
    seen = await call(guest, "GET", "/v1/bookings/{booking_id}/payment", booking_id=bid)
    assert seen.status_code == 200, seen.content
    assert seen.parsed.status.value == "succeeded"
    assert seen.parsed.amount.amount == booked.parsed.price.total.amount
    got = await call(guest, "GET", "/v1/bookings/{booking_id}", booking_id=bid)
    assert got.parsed.payment_status.value == "succeeded"

    # Cancel: the refund on the booking is what the payment shows refunded.
    cancelled = await call(guest, "POST", "/v1/bookings/{booking_id}/cancel", booking_id=bid)
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.parsed.status.value == "cancelled"
    refund = cancelled.parsed.refund
    after = await call(guest, "GET", "/v1/bookings/{booking_id}/payment", booking_id=bid)
    assert after.parsed.refunded.amount == refund.amount > 0
    assert after.parsed.refunded.currency == refund.currency

    # A 409 arrives as a typed problem.
    conflict = await call(guest, "POST", "/v1/bookings/{booking_id}/cancel", booking_id=bid)
    assert conflict.status_code == 409
    assert json.loads(conflict.content)["current_status"] == "cancelled"
    assert isinstance(conflict.parsed, models.Problem), type(conflict.parsed)
    assert conflict.parsed.status == 409
