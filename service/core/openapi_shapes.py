"""Name the alternatives of a request body in /openapi.json, and declare `Location` on 201s.

A body model that publishes itself as `oneOf` several shapes (see
`service.bookings.schemas.BookingIn`) gets them inline from pydantic; clients generate better
types from named schemas, so each titled inline alternative is moved to
`components/schemas/<title>` and referenced from there. Nothing about validation changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI


def hoist_one_of_members(schema: dict[str, Any]) -> dict[str, Any]:
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    for component in list(components.values()):
        members = component.get("oneOf") if isinstance(component, dict) else None
        if not isinstance(members, list):
            continue
        for i, member in enumerate(members):
            title = member.get("title") if isinstance(member, dict) else None
            if not isinstance(title, str) or "$ref" in member:
                continue
            if components.setdefault(title, member) != member:
                continue  # another schema already has this name: leave this one inline
            members[i] = {"$ref": f"#/components/schemas/{title}"}
    return schema


LOCATION = {
    "description": "URL of what was created (or of the list it appears in when it has none)",
    "schema": {"type": "string"},
}


def declare_location_on_created(schema: dict[str, Any]) -> dict[str, Any]:
    """Every 201 of this API carries `Location` (tests/contract/test_created_location.py)."""
    for item in schema.get("paths", {}).values():
        for op in item.values():
            created = op.get("responses", {}).get("201") if isinstance(op, dict) else None
            if isinstance(created, dict):
                created.setdefault("headers", {}).setdefault("Location", LOCATION)
    return schema


def name_body_shapes(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = declare_location_on_created(hoist_one_of_members(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
