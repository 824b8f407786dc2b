"""Bad input is a 422 problem+json that names the field, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import Listing, User
from tests.conftest import Account

Body = Callable[..., dict[str, Any]]


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


CASES: list[tuple[str, Callable[[Body], dict[str, Any]], list[Any]]] = [
    ("missing title", lambda b: without(b(), "title"), ["title"]),
    ("missing price", lambda b: without(b(), "price"), ["price"]),
    ("extra field", lambda b: b(owner_id="someone-else"), ["owner_id"]),
    (
        "extra nested field",
        lambda b: b(price={"amount": 100, "currency": "EUR", "fx": 1}),
        ["price", "fx"],
    ),
    ("title wrong type", lambda b: b(title=123), ["title"]),
    ("capacity wrong type", lambda b: b(capacity="four"), ["capacity"]),
    ("negative money", lambda b: b(price={"amount": -1, "currency": "EUR"}), ["price", "amount"]),
    ("float money", lambda b: b(price={"amount": 99.5, "currency": "EUR"}), ["price", "amount"]),
    (
        "float-looking integer money",
        lambda b: b(price={"amount": 100.0, "currency": "EUR"}),
        ["price", "amount"],
    ),
    ("string money", lambda b: b(price={"amount": "100", "currency": "EUR"}), ["price", "amount"]),
    ("bad currency", lambda b: b(price={"amount": 100, "currency": "euro"}), ["price", "currency"]),
    (
        "unknown currency",
        lambda b: b(price={"amount": 100, "currency": "XXX"}),
        ["price", "currency"],
    ),
    ("latitude out of range", lambda b: b(location={"lat": 91, "lon": 0}), ["location", "lat"]),
    (
        "longitude out of range",
        lambda b: b(location={"lat": 0, "lon": -180.5}),
        ["location", "lon"],
    ),
    ("operator in a string field", lambda b: b(title={"$gt": ""}), ["title"]),
    (
        "operator in a nested field",
        lambda b: b(address={"line1": {"$ne": None}, "city": "X", "country": "NL"}),
        ["address", "line1"],
    ),
    (
        "operator as attribute key",
        lambda b: b(attributes={"$where": "sleep(1000)"}),
        ["attributes", "$where"],
    ),
    ("operator in amenities", lambda b: b(amenities=[{"$regex": ".*"}]), ["amenities", 0]),
    ("oversized title", lambda b: b(title="x" * 141), ["title"]),
    ("oversized description", lambda b: b(description="x" * 10_001), ["description"]),
    ("too many amenities", lambda b: b(amenities=[f"a{i}" for i in range(51)]), ["amenities"]),
    ("bad unit", lambda b: b(unit="week"), ["unit"]),
    ("zero capacity", lambda b: b(capacity=0), ["capacity"]),
    (
        "country not ISO",
        lambda b: b(address={"line1": "x", "city": "y", "country": "Holland"}),
        ["address", "country"],
    ),
]


@pytest.mark.parametrize(("name", "make", "loc"), CASES, ids=[c[0] for c in CASES])
async def test_bad_listing_is_422_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    host: Account,
    new_listing: Body,
    name: str,
    make: Callable[[Body], dict[str, Any]],
    loc: list[Any],
) -> None:
    r = await client.post("/v1/listings", json=make(new_listing), headers=host.headers)
    assert r.status_code == 422, (name, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    locs = [e["loc"][: len(loc)] for e in problem["errors"]]
    assert loc in locs, (name, problem["errors"])
    assert await Listing.count() == 0


async def test_item_without_stock_names_the_rule(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    r = await client.post("/v1/listings", json=new_listing(unit="item"), headers=host.headers)
    assert r.status_code == 422
    assert "stock" in r.json()["detail"] or "stock" in str(r.json()["errors"])


async def test_patch_rejects_unknown_fields_nulls_and_operators(
    client: httpx.AsyncClient, host: Account, new_listing: Body
) -> None:
    created = (await client.post("/v1/listings", json=new_listing(), headers=host.headers)).json()
    path = f"/v1/listings/{created['id']}"
    for body, field in [
        ({"status": "published"}, "status"),  # status changes only via publish/close
        ({"version": 99}, "version"),
        ({"unit": "hour"}, "unit"),
        ({"title": None}, "title"),
        ({"price": {"$set": {"amount": 1}}}, "price"),
        ({"category": {"$ne": "x"}}, "category"),
    ]:
        r = await client.patch(path, json=body, headers=host.headers)
        assert r.status_code == 422, (body, r.text)
        assert field in str(r.json()["errors"]), (body, r.json())
    stored = (await client.get(path, headers=host.headers)).json()
    assert stored["version"] == 1 and stored["status"] == "draft"


async def test_malformed_json_and_wrong_content_are_problems(
    client: httpx.AsyncClient, host: Account
) -> None:
    r = await client.post(
        "/v1/listings",
        content=b"{not json",
        headers={**host.headers, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(
        "/v1/listings", content=b"[]", headers={**host.headers, "content-type": "application/json"}
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "long enough", "display_name": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "display_name": "A"}, "password"),
        ({"email": "a@example.com", "password": "long enough", "display_name": ""}, "display_name"),
        ({"email": {"$gt": ""}, "password": "long enough", "display_name": "A"}, "email"),
        (
            {
                "email": "a@example.com",
                "password": "long enough",
                "display_name": "A",
                "is_admin": True,
            },
            "is_admin",
        ),
        ({"email": "a@example.com", "password": "p" * 257, "display_name": "A"}, "password"),
    ],
)
async def test_bad_registration_is_422_naming_the_field(
    client: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    r = await client.post("/v1/auth/register", json=payload)
    assert r.status_code == 422
    assert field in [e["loc"][0] for e in r.json()["errors"]]
    assert await User.count() == 0


async def test_login_operator_injection_is_rejected(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/auth/login", json={"email": {"$ne": None}, "password": {"$ne": None}}
    )
    assert r.status_code == 422
    assert {"email", "password"} <= {e["loc"][0] for e in r.json()["errors"]}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(max_value=-1),
        st.integers(min_value=10**12 + 1),
        st.text(max_size=5),
        st.none(),
        st.booleans(),
    )
)
async def test_any_non_integer_or_out_of_range_money_is_refused(
    client: httpx.AsyncClient, host: Account, new_listing: Body, amount: Any
) -> None:
    r = await client.post(
        "/v1/listings",
        json=new_listing(price={"amount": amount, "currency": "EUR"}),
        headers=host.headers,
    )
    assert r.status_code == 422
    assert ["price", "amount"] in [e["loc"][:2] for e in r.json()["errors"]]
    assert await Listing.count() == 0
