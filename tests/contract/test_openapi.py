"""The published /openapi.json is what client generators need (see docs/api.md, "The contract"):
pinned operationIds, one typed Problem on every error, declared security and headers, named
enums, documentation and examples that validate against their schemas."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs

from tests.hardening.test_access_control import ANON, STRANGER, TABLE

# Renaming one of these renames a method in every app built on the API: pinned on purpose.
OPERATION_IDS = {
    "acceptBooking": "POST /v1/bookings/{booking_id}/accept",
    "cancelBooking": "POST /v1/bookings/{booking_id}/cancel",
    "closeListing": "POST /v1/listings/{listing_id}/close",
    "completeBooking": "POST /v1/bookings/{booking_id}/complete",
    "createBooking": "POST /v1/bookings",
    "createListing": "POST /v1/listings",
    "createPayment": "POST /v1/bookings/{booking_id}/payment",
    "searchMap": "GET /v1/search/map",
    "similarListings": "GET /v1/listings/{listing_id}/similar",
    "saveListing": "PUT /v1/me/wishlist/{listing_id}",
    "unsaveListing": "DELETE /v1/me/wishlist/{listing_id}",
    "getWishlist": "GET /v1/me/wishlist",
    "createSavedSearch": "POST /v1/me/saved-searches",
    "listSavedSearches": "GET /v1/me/saved-searches",
    "deleteSavedSearch": "DELETE /v1/me/saved-searches/{saved_search_id}",
    "listNotifications": "GET /v1/me/notifications",
    "readNotifications": "POST /v1/me/notifications/read",
    "getPayment": "GET /v1/bookings/{booking_id}/payment",
    "confirmTestPayment": "POST /v1/payments/test/confirm",
    "createReview": "POST /v1/bookings/{booking_id}/review",
    "declineBooking": "POST /v1/bookings/{booking_id}/decline",
    "deleteListing": "DELETE /v1/listings/{listing_id}",
    "eraseMe": "DELETE /v1/me",
    "exportMe": "GET /v1/me/export",
    "getAvailability": "GET /v1/listings/{listing_id}/availability",
    "getBooking": "GET /v1/bookings/{booking_id}",
    "getHealth": "GET /healthz",
    "getListing": "GET /v1/listings/{listing_id}",
    "getMe": "GET /v1/me",
    "getMetrics": "GET /metrics",
    "getReadiness": "GET /readyz",
    "getRevenueReport": "GET /v1/admin/reports/revenue",
    "setFxTable": "PUT /v1/admin/fx",
    "getFxTable": "GET /v1/fx",
    "listBookings": "GET /v1/bookings",
    "listConversations": "GET /v1/conversations",
    "listMessages": "GET /v1/conversations/{conversation_id}/messages",
    "listOwnListings": "GET /v1/listings",
    "listPayouts": "GET /v1/payouts",
    "listReviews": "GET /v1/listings/{listing_id}/reviews",
    "login": "POST /v1/auth/login",
    "logout": "POST /v1/auth/logout",
    "logoutAll": "POST /v1/auth/logout-all",
    "publishListing": "POST /v1/listings/{listing_id}/publish",
    "receivePaymentWebhook": "POST /v1/payments/webhook",
    "register": "POST /v1/auth/register",
    "replaceAvailabilityBlocks": "PUT /v1/listings/{listing_id}/availability/blocks",
    "searchListings": "GET /v1/search/listings",
    "sendMessage": "POST /v1/conversations/{conversation_id}/messages",
    "startConversation": "POST /v1/conversations",
    "suggestSearch": "GET /v1/search/suggest",
    "updateListing": "PATCH /v1/listings/{listing_id}",
}

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RATE_HEADERS = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_operation_ids_are_pinned(spec: dict[str, Any]) -> None:
    found = {op["operationId"]: f"{m} {p}" for m, p, op in operations(spec)}
    assert found == OPERATION_IDS


def test_every_error_is_the_one_problem_component(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert {"current_status", "current_version", "service", "checks"} <= set(problem["properties"])
    loc = schemas["ProblemFieldError"]["properties"]["loc"]
    assert loc["items"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    for method, path, op in operations(spec):
        for code, answer in op["responses"].items():
            if int(code) < 400:
                continue
            assert answer["content"] == {
                "application/problem+json": {
                    "schema": PROBLEM_REF,
                    "example": answer["content"]["application/problem+json"]["example"],
                }
            }, (method, path, code)


PROBES = {"getHealth": {200}, "getReadiness": {200, 503}}


def test_error_statuses_follow_the_route(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        codes = {int(c) for c in op["responses"]}
        if op["operationId"] in PROBES:  # answered before the middleware: never limited
            assert codes == PROBES[op["operationId"]], (method, path)
            continue
        assert {429, 503} <= codes, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert 422 in codes, (method, path)
        if "{" in path:
            assert 404 in codes, (method, path)
        if op["security"] and {} not in op["security"]:
            assert 401 in codes, (method, path)
    by_id = {op["operationId"]: {int(c) for c in op["responses"]} for _, _, op in operations(spec)}
    assert 412 in by_id["updateListing"]
    for conflicting in (
        "register",
        "createBooking",
        "acceptBooking",
        "cancelBooking",
        "createPayment",
        "createReview",
        "publishListing",
        "replaceAvailabilityBlocks",
    ):
        assert 409 in by_id[conflicting], conflicting
    assert 403 in by_id["createListing"] and 403 in by_id["getRevenueReport"]
    assert 504 in by_id["searchListings"]


def needs_a_session() -> set[tuple[str, str]]:
    """From the access-control table: the operations that answer an anonymous caller 401 and a
    signed-in one something else (sign-in itself answers both 401 for a wrong password)."""
    return {
        key for key, row in TABLE.items() if row.expect[ANON] == 401 and row.expect[STRANGER] != 401
    }


def test_security_matches_the_access_control_table(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert (schemes["cookieAuth"]["type"], schemes["cookieAuth"]["in"]) == ("apiKey", "cookie")
    assert schemes["cookieAuth"]["name"] == "mp_session"
    declared = set()
    for method, path, op in operations(spec):
        assert "security" in op, (method, path)
        security = op["security"]
        if security and {} not in security:
            assert security == [{"bearerAuth": []}, {"cookieAuth": []}], (method, path)
            declared.add((method, path))
    assert declared == needs_a_session()
    assert len(declared) > 20


def test_named_enums_and_no_pydantic_generic_names(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["SearchSort"]["enum"][0] == "relevance"
    assert {"BookingRole", "OwnerFilter", "RevenueGroupBy", "BookingPage"} <= set(schemas)
    assert not [n for n in schemas if "_" in n]
    for _method, path, op in operations(spec):
        for param in op.get("parameters", []):
            assert "enum" not in param["schema"] and "const" not in param["schema"], (path, param)


def test_headers_are_declared(spec: dict[str, Any]) -> None:
    by_id = {op["operationId"]: op for _, _, op in operations(spec)}
    for method, path, op in operations(spec):
        for code, answer in op["responses"].items():
            headers = set(answer.get("headers", {}))
            if op["operationId"] in PROBES:  # probes skip the limits, and say so
                assert not headers & (RATE_HEADERS | {"Retry-After"}), (method, path, code)
                continue
            assert headers >= RATE_HEADERS, (method, path, code)
            if code in ("429", "503"):
                assert "Retry-After" in headers, (method, path, code)
            if code == "201":
                assert "Location" in headers, (method, path)
            if code == "401":
                assert "WWW-Authenticate" in headers, (method, path)
    for op_id, code in (("getListing", "200"), ("createListing", "201"), ("updateListing", "200")):
        assert "ETag" in by_id[op_id]["responses"][code]["headers"], op_id
    assert "ETag" in by_id["getListing"]["responses"]["304"]["headers"]
    # Header names are case-insensitive; FastAPI publishes them lower-cased.
    params = by_id["getListing"]["parameters"]
    assert any(p["name"].lower() == "if-none-match" and p["in"] == "header" for p in params)
    for op_id, code in (
        ("createBooking", "201"),
        ("cancelBooking", "200"),
        ("createPayment", "201"),
    ):
        assert "Idempotent-Replayed" in by_id[op_id]["responses"][code]["headers"], op_id


def test_documentation(spec: dict[str, Any]) -> None:
    info = spec["info"]
    assert info["license"]["name"] == "Apache-2.0" and info["contact"]["email"]
    assert spec["servers"]
    tags = {t["name"]: t for t in spec["tags"]}
    assert all(t["description"] for t in tags.values())
    for method, path, op in operations(spec):
        assert op["summary"] and op["description"], (method, path)
        assert set(op["tags"]) <= set(tags), (method, path)
    for name in ("/healthz", "/readyz"):
        ok = spec["paths"][name]["get"]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].startswith("#/components/schemas/"), name


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    # The operation's schema with the spec's components beside it, so `#/components/...` resolves.
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": spec["components"]}, validate_formats=True
    )


def test_bodies_and_main_responses_have_valid_examples(spec: dict[str, Any]) -> None:
    checked = 0
    for method, path, op in operations(spec):
        media = []
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            media.append(("request", body))
        for code, answer in op["responses"].items():
            for kind, m in answer.get("content", {}).items():
                if kind.endswith("json") and (
                    code.startswith("2") or kind.endswith("problem+json")
                ):
                    media.append((code, m))
        for where, m in media:
            assert "example" in m, (method, path, where)
            errors = [e.message for e in _validator(spec, m["schema"]).iter_errors(m["example"])]
            assert not errors, (method, path, where, errors)
            checked += 1
    assert checked > 200


async def test_docs_page_references_no_cdn(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as client:
        r = await client.get("/docs")
        assert r.status_code == 200
        assert "cdn" not in r.text.lower() and "https://" not in r.text
        for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"):
            assert (await client.get(asset)).status_code == 200, asset
        assert (await client.get("/redoc")).status_code == 404
