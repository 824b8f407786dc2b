"""Structured JSON access logs with request ids; secrets never reach a log line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import httpx
import orjson

from service.core.logging import ACCESS_LOGGER, JsonFormatter, redact
from tests.conftest import MakeUser


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured(logger: str = "") -> Iterator[_Lines]:
    """Every record, from every logger, formatted exactly as production formats it."""
    handler = _Lines()
    target = logging.getLogger(logger)
    old_level = target.level
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        target.removeHandler(handler)
        target.setLevel(old_level)


def access_lines(handler: _Lines) -> list[dict]:
    docs = [orjson.loads(line) for line in handler.lines]
    return [d for d in docs if d["logger"] == ACCESS_LOGGER]


async def test_request_id_is_accepted_echoed_and_logged(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(["host"])
    with captured() as handler:
        r = await client.get("/v1/me", headers={**user.headers, "X-Request-ID": "req-abc.123"})
        assert r.status_code == 200
        assert r.headers["X-Request-ID"] == "req-abc.123"
        generated = await client.get("/v1/listings/0123456789abcdef01234567")
        bad = await client.get("/healthz", headers={"X-Request-ID": "evil\tid" + "x" * 200})
    assert generated.status_code == 404
    gen_id = generated.headers["X-Request-ID"]
    assert len(gen_id) == 32
    assert bad.headers["X-Request-ID"] != "evil\tid" + "x" * 200
    lines = access_lines(handler)
    assert len(lines) == 3
    me, missing, _ = lines
    assert me["request_id"] == "req-abc.123"
    assert me["method"] == "GET" and me["route"] == "/v1/me" and me["status"] == 200
    assert me["user_id"] == user.id
    assert isinstance(me["latency_ms"], float) and me["latency_ms"] >= 0
    assert missing["request_id"] == gen_id
    assert missing["route"] == "/v1/listings/{listing_id}" and missing["status"] == 404
    assert missing["user_id"] is None
    assert all(line.startswith("{") and "\n" not in line for line in handler.lines)


async def test_no_passwords_or_tokens_in_logs(client: httpx.AsyncClient) -> None:
    password = "Sup3r-Secret-Passw0rd"
    email = "logcheck@example.com"
    with captured() as handler:
        reg = await client.post(
            "/v1/auth/register",
            json={"email": email, "password": password, "display_name": "Log"},
        )
        assert reg.status_code == 201
        assert (
            await client.post(
                "/v1/auth/login", json={"email": email, "password": "wrong-" + password}
            )
        ).status_code == 401
        login = await client.post("/v1/auth/login", json={"email": email, "password": password})
        token = login.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/me", headers=auth)).status_code == 200
        assert (
            await client.get("/v1/me", headers={"Cookie": f"mp_session={token}"})
        ).status_code == 200
        assert (await client.post("/v1/auth/logout", headers=auth)).status_code == 204
        # Even a handler that logs a secret by mistake has it redacted by the formatter.
        logging.getLogger("marketplace.test").warning(
            "careless: Authorization: Bearer %s password=%s", token, password
        )
    text = "\n".join(handler.lines)
    assert len(access_lines(handler)) == 6
    assert password not in text
    assert token not in text
    assert "[redacted]" in text


def test_redact_patterns() -> None:
    assert "abc" not in redact("Authorization: Bearer abc")
    assert "hunter2" not in redact('{"password": "hunter2"}')
    assert "hunter2" not in redact("password=hunter2 user=x")
    assert redact("nothing secret here") == "nothing secret here"
