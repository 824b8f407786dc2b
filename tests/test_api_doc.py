"""docs/api.md (the HTTP API contract) names every operation of /openapi.json.

An operation counts as documented when the doc writes `METHOD /path` with the path exactly as the
schema spells it (e.g. `GET /v1/listings/{listing_id}`), in a table row, a heading or inline code;
a query string after the path (`GET /v1/listings?owner=me`) is allowed. Path parameter names are
compared deliberately: a doc line with the right route but another parameter name (`{id}`) does
not count, and the failure says which spelling to use.

The schema is built from the app without starting its lifespan: no Redis, Mongo or
Elasticsearch is contacted, so this runs in well under a second.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.app import create_app
from tests.conftest import make_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

# `METHOD /path`: the path runs until whitespace, a query string, or markdown/punctuation.
DOC_OPERATION = re.compile(r"\b(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE)\s+(/[^\s`|?,;)\]]*)")
PATH_PARAM = re.compile(r"\{[^}/]*\}")


def _shape(path: str) -> str:
    """The route with its parameter names erased: `/v1/listings/{}`."""
    return PATH_PARAM.sub("{}", path)


def documented_operations(text: str) -> set[tuple[str, str]]:
    return {(m.group(1), m.group(2).rstrip(".:")) for m in DOC_OPERATION.finditer(text)}


@pytest.fixture(scope="module")
def schema_operations() -> set[tuple[str, str]]:
    settings = make_settings("redis://127.0.0.1:6379/0", None)  # never connected to here
    schema = create_app(settings).openapi()
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_the_schema_is_not_trivially_small(schema_operations: set[tuple[str, str]]) -> None:
    # Guards the real test against passing vacuously (e.g. routers no longer included).
    assert len(schema_operations) >= 35, sorted(schema_operations)
    assert ("GET", "/v1/listings/{listing_id}") in schema_operations


def test_the_doc_parser_finds_the_contract(schema_operations: set[tuple[str, str]]) -> None:
    documented = documented_operations(DOC.read_text(encoding="utf-8"))
    assert len(documented) >= 35, sorted(documented)
    assert ("GET", "/v1/listings") in documented  # written `GET /v1/listings?owner=me`


def test_every_schema_operation_is_in_docs_api_md(
    schema_operations: set[tuple[str, str]],
) -> None:
    documented = documented_operations(DOC.read_text(encoding="utf-8"))
    by_shape: dict[tuple[str, str], set[str]] = {}
    for method, path in documented:
        by_shape.setdefault((method, _shape(path)), set()).add(path)

    problems = []
    for method, path in sorted(schema_operations - documented, key=lambda op: (op[1], op[0])):
        near = sorted(by_shape.get((method, _shape(path)), ()))
        hint = f" (documented as {', '.join(near)}: use the schema's spelling)" if near else ""
        problems.append(f"{method} {path}{hint}")
    where = DOC.relative_to(DOC.parents[1])
    assert not problems, (
        f"{len(problems)} operation(s) of /openapi.json missing from {where}:\n"
        + "\n".join(problems)
    )
