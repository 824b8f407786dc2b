"""Name the alternatives of a request body in /openapi.json.

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


def name_body_shapes(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = hoist_one_of_members(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
