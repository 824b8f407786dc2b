"""Free-form and numeric input: out-of-range integers, coerced strings, duplicate keys
(findings 5 and 14). Every one is a 422 naming the field, never a 500."""

from __future__ import annotations

import json
import typing
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from service.app import ROUTERS
from tests.conftest import Account, listing_body

HUGE = [2**63, 2**64, 10**30, -(2**63) - 1]


def _raw(body: dict[str, Any], key: str, literal: str) -> bytes:
    """`body` as JSON with `attributes.<key>` spelled as `literal` (any size of integer)."""
    text = json.dumps({**body, "attributes": {key: "@@"}})
    return text.replace('"@@"', literal).encode()


def _locs(r: httpx.Response) -> set[tuple[Any, ...]]:
    """Error locations without the leading `body`."""
    return {tuple(x for x in e["loc"] if x != "body")[:2] for e in r.json()["errors"]}


async def _post(client: httpx.AsyncClient, host: Account, raw: bytes) -> httpx.Response:
    headers = {**host.headers, "content-type": "application/json"}
    return await client.post("/v1/listings", content=raw, headers=headers)


@pytest.mark.parametrize("number", HUGE)
async def test_out_of_range_attribute_is_422_on_create_and_patch(
    client: httpx.AsyncClient, host: Account, number: int
) -> None:
    r = await _post(client, host, _raw(listing_body(), "k", str(number)))
    assert r.status_code == 422, r.text
    assert ("attributes", "k") in _locs(r), r.json()
    created = await client.post("/v1/listings", json=listing_body(), headers=host.headers)
    assert created.status_code == 201, created.text
    raw = json.dumps({"attributes": {"k": "@@"}}).replace('"@@"', str(number)).encode()
    patched = await client.patch(
        f"/v1/listings/{created.json()['id']}",
        content=raw,
        headers={**host.headers, "content-type": "application/json", "If-Match": '"1"'},
    )
    assert patched.status_code == 422, patched.text
    assert ("attributes", "k") in _locs(patched), patched.json()


async def test_int64_edges_and_finite_floats_are_kept(
    client: httpx.AsyncClient, host: Account
) -> None:
    attrs = {"lo": -(2**63), "hi": 2**63 - 1, "f": 1.5, "b": True, "s": "x"}
    r = await client.post("/v1/listings", json=listing_body(attributes=attrs), headers=host.headers)
    assert r.status_code == 201, r.text
    assert r.json()["attributes"] == attrs
    r = await _post(client, host, _raw(listing_body(), "f", "1e400"))
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("capacity", "4"), ("capacity", 4.0), ("capacity", True), ("stock", "3")],
)
async def test_integers_are_strict(
    client: httpx.AsyncClient, host: Account, field: str, value: Any
) -> None:
    body = listing_body(**{field: value})
    if field == "stock":
        body["unit"] = "item"
    r = await client.post("/v1/listings", json=body, headers=host.headers)
    assert r.status_code == 422, r.text
    assert (field,) in {loc[:1] for loc in _locs(r)}, r.json()


async def test_duplicate_keys_are_422(client: httpx.AsyncClient, host: Account) -> None:
    text = json.dumps(listing_body(title="First title"))
    raw = text.replace('"title": "First title"', '"title": "First title", "title": "Second"')
    r = await _post(client, host, raw.encode())
    assert r.status_code == 422, r.text
    assert ("title",) in _locs(r), r.json()
    nested = text.replace('"city": "Amsterdam"', '"city": "Amsterdam", "city": "Paris"')
    assert (await _post(client, host, nested.encode())).status_code == 422


def _models(tp: Any) -> typing.Iterator[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        yield tp
    for arg in typing.get_args(tp):
        yield from _models(arg)


def _is_int(tp: Any) -> bool:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp is int or (bool(args) and all(a is int for a in args))


def test_every_integer_of_a_request_body_is_strict() -> None:
    seen: set[type[BaseModel]] = set()
    todo = [
        m
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and r.body_field is not None
        for m in _models(r.body_field.field_info.annotation)
    ]
    lax = []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            todo.extend(_models(field.annotation))
            strict = any(getattr(m, "strict", False) for m in field.metadata)
            if _is_int(field.annotation) and not strict:
                lax.append(f"{model.__name__}.{name}")
    assert seen, "no request bodies found"
    assert not lax, f"integers that accept '4' or 4.0: {lax}"


free_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FREE_FIELDS = ["attributes", "description", "title", "amenities", "address", "location", "rules"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(FREE_FIELDS), value=free_json, key=st.text(max_size=12))
async def test_free_form_fields_never_500(
    client: httpx.AsyncClient, host: Account, field: str, value: Any, key: str
) -> None:
    body = listing_body()
    body[field] = {key: value} if field == "attributes" else value
    try:
        raw = json.dumps(body, allow_nan=True).encode()
    except ValueError:
        return
    r = await _post(client, host, raw)
    assert r.status_code in (201, 422), r.text
