"""Issue #8 (booking body): `POST /v1/bookings` publishes its three body shapes as named schemas
under `oneOf`, so generated types cannot mix nights, slots and quantity; the wire format is the
same flat JSON, and a mixed body is still a 422 problem naming the field."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.bookings.support import book, future_day, future_hour, publish
from tests.conftest import Account

SHAPES = {
    "BookingNightsIn": {"listing_id", "check_in", "check_out"},
    "BookingSlotsIn": {"listing_id", "start", "end"},
    "BookingItemsIn": {"listing_id", "quantity"},
}


def test_the_body_is_one_of_three_named_shapes(app: FastAPI) -> None:
    schema = app.openapi()
    body = schema["paths"]["/v1/bookings"]["post"]["requestBody"]["content"]["application/json"]
    components = schema["components"]["schemas"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    members = components[ref]["oneOf"]
    assert [m["$ref"].rsplit("/", 1)[-1] for m in members] == list(SHAPES)
    for name, required in SHAPES.items():
        shape = components[name]
        assert set(shape["required"]) == required
        assert shape["additionalProperties"] is False  # which fields are present tells them apart
    nights, slots, items = (set(components[n]["properties"]) for n in SHAPES)
    assert not (nights & slots) - {"listing_id"} and not (nights & items) - {"listing_id"}
    assert not (slots & items) - {"listing_id"}


async def test_wire_format_is_unchanged_and_mixing_is_422_naming_the_field(
    client: httpx.AsyncClient, host: Account, guest: Account
) -> None:
    nightly = await publish(client, host)
    r = await book(
        client,
        guest,
        nightly["id"],
        check_in=future_day(40),
        check_out=future_day(42),
        guests=2,
    )
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == f"/v1/bookings/{r.json()['id']}"
    mixed = await book(
        client,
        guest,
        nightly["id"],
        check_in=future_day(50),
        check_out=future_day(52),
        start=future_hour(50),
    )
    assert mixed.status_code == 422
    assert mixed.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in mixed.json()["errors"]] == [["start"]]
    wrong = await book(client, guest, nightly["id"], check_in=future_day(50), guests=0)
    assert wrong.status_code == 422
    assert ["guests"] in [e["loc"] for e in wrong.json()["errors"]]
