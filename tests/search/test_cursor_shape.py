"""A signed cursor whose position does not fit its sort is a 422 on `cursor`, never a 5xx
(finding 4). The probe forged them with the old public secret; a leaked or future secret must
not turn into 500s or a 503 that blames Elasticsearch."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from elasticsearch import BadRequestError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.pagination import decode_cursor, encode_cursor
from service.search import query as sq
from tests.search.conftest import SearchEnv

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


async def _valid(env: SearchEnv, params: dict[str, Any]) -> dict[str, Any]:
    """A real cursor's position for `params` (decoded from the first page)."""
    r = await env.client.get("/v1/search/listings", params={**params, "limit": 2})
    assert r.status_code == 200 and r.json()["next_cursor"], r.text
    position = decode_cursor(env.settings.cursor_secret.get_secret_value(), r.json()["next_cursor"])
    assert position is not None
    return position


def _sign(secret: str, position: dict[str, Any]) -> str:
    """`encode_cursor`, but through the stdlib so that out-of-range integers can be forged."""
    payload = json.dumps(position, sort_keys=True).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


async def _with_after(env: SearchEnv, params: dict[str, Any], after: Any) -> Any:
    position = await _valid(env, params)
    cursor = _sign(env.settings.cursor_secret.get_secret_value(), {**position, "after": after})
    return await env.client.get("/v1/search/listings", params={**params, "cursor": cursor})


@pytest.mark.parametrize(
    "after",
    [
        ["x", "y", "z"],
        [],
        [True, False, True],
        [{"a": 1}, {}, {"b": [1]}],
        [None, None, None],
        [1.0, 2],
        [1.0, 2, "id", 4],
        [1.0, 2**64, "some-id"],
        [1.0, "2", "some-id"],
        [1e300, 10**30, "some-id"],
        [1.0, 2, ""],
        "not a list",
        {"a": 1},
        None,
    ],
)
async def test_malformed_after_is_422_on_cursor(search_env: SearchEnv, after: Any) -> None:
    r = await _with_after(search_env, {}, after)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "params", [{"sort": "price_asc"}, {"sort": "rating"}, {"sort": "newest"}, {"q": "cabin"}]
)
async def test_real_cursors_still_page(search_env: SearchEnv, params: dict[str, Any]) -> None:
    position = await _valid(search_env, params)
    assert sq.valid_search_after(sq.SearchParams(**params), position["after"])
    r = await _with_after(search_env, params, position["after"])
    assert r.status_code == 200, r.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(after=st.lists(json_values, max_size=4) | json_values)
async def test_any_after_is_a_page_or_a_422(search_env: SearchEnv, after: Any) -> None:
    r = await _with_after(search_env, {"sort": "price_desc"}, after)
    assert r.status_code in (200, 422), r.text


@pytest.mark.parametrize("how", ["request", "item"])
async def test_elasticsearch_refusing_a_cursor_is_422(
    search_env: SearchEnv, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Refused as a whole (a 400 on the multi-search) or as one of its searches (a 200 whose
    hits item carries the 400): either way the cursor is what was wrong."""
    position = await _valid(search_env, {})
    es = search_env.client._transport.app.state.es  # type: ignore[attr-defined]

    async def refuse(**kw: Any) -> Any:
        if how == "request":
            raise BadRequestError("search_phase_execution_exception", meta=_Meta(), body={})  # type: ignore[arg-type]
        error = {"error": {"type": "search_phase_execution_exception"}, "status": 400}
        ok = {"hits": {"total": {"value": 1, "relation": "eq"}, "hits": []}}
        return _Body({"responses": [error, *[ok] * (len(kw["searches"]) // 2 - 1)]})

    monkeypatch.setattr(es, "msearch", refuse)
    cursor = encode_cursor(search_env.settings.cursor_secret.get_secret_value(), position)
    r = await search_env.client.get("/v1/search/listings", params={"cursor": cursor})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


class _Body:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class _Meta:
    status = 400
