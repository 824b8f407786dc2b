"""The published contract: `/openapi.json` as client generators need it, and offline `/docs`.

FastAPI's generated schema is finished here, in one pass over the routes, instead of on every
route decorator (the routers stay small and merge easily):

- errors: every error answer references one `Problem` component (RFC 9457 plus the extension
  members the API sends); the statuses a route can answer are derived from what it depends on
  (a session: 401, a role: 403, a path id: 404, any input: 422, Elasticsearch: 504, the
  middleware: 413/429/503), united with what the route itself declares (`problem_responses`);
- security: `bearerAuth` and `cookieAuth`, stated per operation from its dependencies (`[]` on
  public operations, `{}` first where a session is optional);
- names: short camelCase operationIds (`operation_id`, FastAPI's `generate_unique_id_function`),
  named enums for query parameters, `XPage` instead of pydantic's `Page_X_`;
- headers: RateLimit-* on every response but the probes', Retry-After on 429/503,
  WWW-Authenticate on 401,
  Location on 201, ETag on listing reads and writes, Idempotent-Replayed where a replay can
  answer, and a 304 for `If-None-Match` on `GET /v1/listings/{listing_id}`;
- documentation: summaries, descriptions, examples, tags, servers, license and contact
  (`service/core/openapi_text.py`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from service.core import deps
from service.core.errors import _TITLES, PROBLEM_JSON
from service.core.openapi_text import (
    CONTACT,
    DESCRIPTION,
    LICENSE,
    OPERATION_IDS,
    OPERATIONS,
    PARAMETER_ENUMS,
    REQUEST_EXAMPLES,
    SERVERS,
    TAGS,
)

PROBLEM_REF = "#/components/schemas/Problem"
UNSAFE = {"post", "put", "patch", "delete"}

# Routes that check the session themselves (no CurrentUser dependency) and answer 401 without one.
SESSION_REQUIRED_BY_HAND = {"logout"}

PROBLEM_COMPONENT: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": (
        "An RFC 9457 problem document (`application/problem+json`), the body of every error. "
        "`type` is a stable URI a client can branch on; `errors` names the offending inputs "
        "(empty when the problem is not about one input). The extension members are present "
        "only on the problems that carry them."
    ),
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "description": "identifies the kind of problem",
            "examples": ["https://marketplace.dev/problems/not-found"],
        },
        "title": {"type": "string", "description": "short summary of the kind of problem"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string", "description": "what went wrong this time"},
        "instance": {
            "type": "string",
            "description": "the path of the request that failed",
            "examples": ["/v1/bookings/665f1c2e9b1e8a3d4c5b6a7f/accept"],
        },
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/ProblemFieldError"},
        },
        "current_status": {
            "type": "string",
            "description": "409 on a booking transition: the booking's status now",
        },
        "current_version": {
            "type": ["integer", "null"],
            "description": "412 (and 409) on a listing write: the listing's version now",
        },
        "service": {
            "type": "string",
            "description": "503/504: the backing service that is down",
            "examples": ["elasticsearch"],
        },
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "503 from /readyz: each backing service's state",
        },
        "route_class": {
            "type": "string",
            "description": "429 from the rate limiter: the class of routes whose budget ran out",
        },
        "locked": {
            "type": "string",
            "enum": ["account", "client"],
            "description": "429 from sign-in: what the failure lockout applies to",
        },
    },
}

PROBLEM_FIELD_ERROR: dict[str, Any] = {
    "title": "ProblemFieldError",
    "type": "object",
    "description": (
        "One offending input. `loc` is its path: a body field is named from the body's root "
        '(`["check_in"]`, `["price", "amount"]`, `["amenities", 0]`); a query, header or path '
        'parameter is prefixed with where it goes (`["query", "cursor"]`, `["header", '
        '"If-Match"]`, `["path", "listing_id"]`); `["body"]` is the body as a whole.'
    ),
    "required": ["loc", "msg"],
    "properties": {
        "loc": {
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        },
        "msg": {"type": "string"},
    },
}

HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {
        "description": "requests allowed per window for this class of routes",
        "schema": {"type": "integer"},
    },
    "RateLimit-Remaining": {
        "description": "requests left in the current window",
        "schema": {"type": "integer"},
    },
    "RateLimit-Reset": {
        "description": "seconds until the window resets",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "schema": {"type": "integer"},
    },
    "WWW-Authenticate": {
        "description": "the scheme to authenticate with (`Bearer`)",
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "the URL of the resource just created",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "ETag": {
        "description": 'the listing version as an entity tag (`"3"`): If-Match, If-None-Match',
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request with "
        "the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "the `token` of `POST /v1/auth/login` (mobile and server clients)",
    },
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": "mp_session",
        "description": "the HttpOnly session cookie `POST /v1/auth/login` sets (web)",
    },
}
SESSION: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"cookieAuth": []}]

# Listing reads and writes that answer with the listing's ETag.
ETAG_OPERATIONS = {"getListing", "createListing", "updateListing"}
NOT_MODIFIED_OPERATIONS = {"getListing"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    """FastAPI's `generate_unique_id_function`: the route's name, camelCased or mapped."""
    return OPERATION_IDS.get(route.name, _camel(route.name))


# -- what a route depends on ---------------------------------------------------------------


def _dependants(route: APIRoute) -> list[Dependant]:
    """The route's dependant and all its sub-dependencies (FastAPI's public model)."""
    found: list[Dependant] = []
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        found.append(dep)
        stack.extend(dep.dependencies)
    return found


def _needs_role(calls: Iterable[Callable[..., Any]]) -> bool:
    return any(getattr(c, "__qualname__", "").startswith("require_role.") for c in calls)


class RouteFacts:
    """What the schema states about one route, derived from its signature."""

    def __init__(self, route: APIRoute) -> None:
        tree = _dependants(route)
        calls = {d.call for d in tree if d.call is not None}
        headers = [p for d in tree for p in d.header_params]
        self.route = route
        self.auth = deps.get_current_user in calls or route.name in SESSION_REQUIRED_BY_HAND
        self.optional_auth = not self.auth and deps.get_optional_user in calls
        self.role = _needs_role(calls)
        self.path_ids = "{" in route.path
        self.inputs = any(d.query_params or d.cookie_params or d.body_params for d in tree) or bool(
            headers
        )
        self.elasticsearch = deps.get_es in calls
        self.idempotent = any(p.alias == "Idempotency-Key" for p in headers)

    def error_statuses(self, method: str) -> set[int]:
        codes = {429, 503}
        if method in UNSAFE:
            codes |= {413, 422}  # body cap and malformed JSON (the middleware)
        if self.inputs:
            codes.add(422)
        if self.auth:
            codes.add(401)
        if self.role:
            codes.add(403)
        if self.path_ids:
            codes.add(404)
        if self.elasticsearch:
            codes.add(504)
        if self.idempotent:
            codes.add(409)  # a replay while the first request runs, or after it failed
        return codes

    def security(self) -> list[dict[str, list[str]]]:
        if self.auth:
            return copy.deepcopy(SESSION)
        if self.optional_auth:
            return [{}, *copy.deepcopy(SESSION)]
        return []


# -- the finishing pass --------------------------------------------------------------------


def _header_refs(*names: str) -> dict[str, Any]:
    return {n: {"$ref": f"#/components/headers/{n}"} for n in names}


RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
# Answered before the middleware (service.ops.probes): no limit, no session, no RateLimit-*;
# liveness always answers 200, readiness 200 or 503 naming what is down.
PROBE_STATUSES = {"getHealth": {200}, "getReadiness": {200, 503}}


def _problem_response(code: int, existing: dict[str, Any] | None = None) -> dict[str, Any]:
    description = (existing or {}).get("description") or _TITLES.get(code, "Error")
    if code == 503 and description == _TITLES[503]:
        description = "A backing service is down (the problem names it in `service`)"
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


def _is_problem(answer: dict[str, Any]) -> bool:
    content = answer.get("content", {})
    if PROBLEM_JSON in content:
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")


def _rename_pages(schema: dict[str, Any]) -> None:
    """`Page_BookingOut_` -> `BookingPage` (pydantic's generic names are no client API)."""
    components = schema["components"]["schemas"]
    renames = {}
    for name in list(components):
        m = re.fullmatch(r"Page_(\w+?)(?:Out)?_", name)
        if m:
            new = f"{m.group(1)}Page"
            renames[name] = new
            components[new] = components.pop(name)
            components[new]["title"] = new
    if not renames:
        return

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in renames:
                node["$ref"] = "#/components/schemas/" + renames[ref.rsplit("/", 1)[-1]]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def _name_parameter_enums(op_id: str, op: dict[str, Any], components: dict[str, Any]) -> None:
    for param in op.get("parameters", []):
        s = param.get("schema", {})
        if "enum" not in s and "const" not in s:
            continue
        name = PARAMETER_ENUMS[(op_id, param["name"])]  # KeyError: name the new enum
        values = s.get("enum") or [s["const"]]
        named: dict[str, Any] = {"type": "string", "enum": values, "title": name}
        if "description" in s:
            param.setdefault("description", s["description"])
        existing = components.get(name)
        assert existing is None or existing["enum"] == values, name
        components[name] = named
        new: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
        if "default" in s:
            new = {"allOf": [new], "default": s["default"]}
        param["schema"] = new


def finish(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_COMPONENT
    schemas["ProblemFieldError"] = PROBLEM_FIELD_ERROR
    components["headers"] = copy.deepcopy(HEADERS)
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    _rename_pages(schema)

    schema["info"].update(description=DESCRIPTION, license=LICENSE, contact=CONTACT)
    schema["servers"] = copy.deepcopy(SERVERS)
    schema["tags"] = copy.deepcopy(TAGS)

    facts = {
        (method.lower(), ctx.path): RouteFacts(route)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(route := ctx.original_route, APIRoute) and route.include_in_schema
        for method in ctx.methods or ()
    }
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            fact = facts[(method, path)]
            _finish_operation(op, method, fact, schemas)
    return schema


def _finish_operation(
    op: dict[str, Any], method: str, fact: RouteFacts, schemas: dict[str, Any]
) -> None:
    op_id = op["operationId"]
    text = OPERATIONS[op_id]  # KeyError: write the new operation's summary and description
    op["summary"] = text.summary
    # The contract's words first; a route's own docstring (state tables, flows) follows them.
    own = (op.get("description") or "").strip()
    op["description"] = text.description + (f"\n\n{own}" if own and own != text.description else "")
    op["security"] = fact.security()
    _name_parameter_enums(op_id, op, schemas)

    responses: dict[str, Any] = op["responses"]
    declared = {int(c) for c, a in responses.items() if c.isdigit() and _is_problem(a)}
    errors = declared | fact.error_statuses(method)
    probe = op_id in PROBE_STATUSES
    if probe:
        errors &= PROBE_STATUSES[op_id]
        for code in [c for c in responses if c.isdigit() and int(c) not in PROBE_STATUSES[op_id]]:
            del responses[code]
    for code in sorted(errors):
        responses[str(code)] = _problem_response(code, responses.get(str(code)))

    if op_id in NOT_MODIFIED_OPERATIONS:
        params = op.setdefault("parameters", [])
        if not any(p["name"].lower() == "if-none-match" for p in params):
            params.append(
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "an ETag of this listing; answered with 304 while it is current",
                    "schema": {"type": "string", "maxLength": 200},
                }
            )
        responses["304"] = {"description": "Not Modified: the given ETag is still current"}

    for code, answer in responses.items():
        headers = answer.setdefault("headers", {})
        if not probe:
            headers.update(_header_refs(*RATE_HEADERS))
        status = int(code)
        if status in (429, 503) and not probe:  # a probe's 503 is a state, not a back-off
            headers.update(_header_refs("Retry-After"))
        if status == 401:
            headers.update(_header_refs("WWW-Authenticate"))
        if status == 201:
            headers.update(_header_refs("Location"))
        if op_id in ETAG_OPERATIONS and (200 <= status < 300 or status == 304):
            headers.update(_header_refs("ETag"))
        if fact.idempotent and status not in (401, 413, 429, 503):
            headers.update(_header_refs("Idempotent-Replayed"))
        _add_example(op_id, status, answer, schemas)

    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        example = REQUEST_EXAMPLES.get(op_id)
        if example is None:
            example = synthesize(body.get("schema", {}), schemas)
        body["example"] = example


def _add_example(op_id: str, status: int, answer: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media_type, media in answer.get("content", {}).items():
        if media_type == PROBLEM_JSON:
            media["example"] = problem_example(status, op_id)
        elif media_type == "application/json" and 200 <= status < 300:
            media["example"] = synthesize(media.get("schema", {}), schemas)


def problem_example(status: int, op_id: str) -> dict[str, Any]:
    title = _TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": f"https://marketplace.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": title.lower(),
        "instance": "/v1/...",
        "errors": [],
    }
    if status == 422:
        body["detail"] = "invalid input: query.cursor"
        body["errors"] = [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
    elif status == 503:
        body.update(
            type="https://marketplace.dev/problems/redis-unavailable",
            detail="redis is unavailable",
            service="redis",
        )
    elif status == 409 and op_id.endswith("Booking"):
        body.update(detail="cannot accept a cancelled booking", current_status="cancelled")
    return body


# -- examples from schemas -----------------------------------------------------------------

_ID = "665f1c2e9b1e8a3d4c5b6a7f"
_BY_NAME: dict[str, Any] = {
    "email": "ada@example.com",
    "display_name": "Ada",
    "currency": "EUR",
    "amount": 12000,
    "title": "Canal-side loft",
    "description": "Bright loft with a view of the canal.",
    "category": "apartment",
    "city": "Amsterdam",
    "country": "NL",
    "line1": "Prinsengracht 1",
    "lat": 52.37,
    "lon": 4.89,
    "text": "Is the loft free in December?",
    "token": "mp_3q2bH9yYkz0c4V6wqS1rT8nA",
    "client_secret": "pi_secret_9f8e7d",
    "provider": "fake",
    "provider_intent_id": "pi_3Nq0xY",
    "next_cursor": None,
    "check_in": "2026-12-10",
    "check_out": "2026-12-13",
    "from": "2026-12-01",
    "to": "2026-12-31",
    "date": "2026-12-10",
    "key": "2026-12",
    "value": "apartment",
    "rating": 5,
    "version": 1,
}


def _resolve(node: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schemas[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _fits(value: Any, node: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether a named field's stock value suits this schema (or one of its anyOf options)."""
    options = [_resolve(o, schemas) for o in node.get("anyOf", node.get("oneOf", []))] or [node]
    for option in options:
        kind = option.get("type")
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if value is None and "null" in kinds:
            return True
        if isinstance(value, str) and "string" in kinds:
            fmt = option.get("format")
            if fmt == "date-time" and "T" not in value:
                continue
            if fmt == "date" and len(value) != 10:
                continue
            return "enum" not in option or value in option["enum"]
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and kinds & {"integer", "number"}:
            return True
        if isinstance(value, float) and "number" in kinds:
            return True
    return False


def synthesize(
    node: dict[str, Any], schemas: dict[str, Any], name: str = "", depth: int = 0
) -> Any:
    """A plausible instance of a schema: named fields get realistic values, others the first
    value their constraints allow. Examples are validated against the schema in the tests."""
    node = _resolve(node, schemas)
    if "example" in node:
        return node["example"]
    if node.get("examples"):
        return node["examples"][0]
    if name in _BY_NAME and _fits(_BY_NAME[name], node, schemas):
        return _BY_NAME[name]
    if name == "id" or name.endswith("_id"):
        return _ID
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return node["enum"][0]
    if "default" in node and node["default"] is not None:
        return node["default"]
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [o for o in node[key] if _resolve(o, schemas).get("type") != "null"]
            return synthesize((options or node[key])[0], schemas, name, depth + 1)
    if "allOf" in node:
        return synthesize(node["allOf"][0], schemas, name, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in node:
        if depth > 8:
            return {}
        return {
            key: synthesize(sub, schemas, key, depth + 1)
            for key, sub in node.get("properties", {}).items()
        }
    if kind == "array":
        if depth > 8:
            return []
        count = max(1, node.get("minItems", 1)) if node.get("maxItems", 1) else 0
        return [synthesize(node.get("items", {}), schemas, name, depth + 1) for _ in range(count)]
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date-time":
            return "2026-12-01T10:00:00Z"
        if fmt == "date":
            return "2026-12-10"
        if fmt == "email":
            return "ada@example.com"
        if fmt in ("uri", "uri-reference"):
            return "https://marketplace.dev/"
        return "x" * max(1, node.get("minLength", 1)) if node.get("minLength") else "string"
    if kind == "integer":
        return int(node.get("minimum", node.get("exclusiveMinimum", -1) + 1 or 1)) or 1
    if kind == "number":
        return float(node.get("minimum", 1.0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


# -- the app hooks -------------------------------------------------------------------------

STATIC_DOCS = "/static/docs"


def _asset_dir() -> Path:
    """Swagger UI as shipped by the `fastapi-offline` package (no CDN)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) served with assets from this process, never a CDN. There is no
    `/redoc`: ReDoc's bundle loads its logo from a CDN even with every asset local."""
    app.mount(STATIC_DOCS, StaticFiles(directory=_asset_dir()), name="static-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{STATIC_DOCS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_DOCS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_DOCS}/favicon.png",
        )


def install_openapi(app: FastAPI) -> None:
    """Finish FastAPI's schema once (cached like FastAPI's own) and serve offline docs."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = finish(app, generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_docs(app)
