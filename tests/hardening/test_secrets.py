"""Placeholder or short secrets are refused outside the embedded default (finding 3)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.core.config import MIN_SECRET_LENGTH, Settings, get_settings

LONG = "k" * MIN_SECRET_LENGTH
SERVER = {"redis_url": "redis://127.0.0.1:1/0"}


@pytest.mark.parametrize("variable", ["webhook_secret", "cursor_secret"])
@pytest.mark.parametrize(
    "value",
    ["dev-webhook-secret-change-me", "dev-cursor-secret-change-me", "", "short-but-set", "x" * 31],
)
def test_server_settings_refuse_weak_secrets(variable: str, value: str) -> None:
    other = "cursor_secret" if variable == "webhook_secret" else "webhook_secret"
    with pytest.raises(ValidationError, match=variable.upper()):
        Settings(**SERVER, **{variable: value, other: LONG})


def test_unset_secrets_are_refused_with_mongo_too() -> None:
    with pytest.raises(ValidationError, match="WEBHOOK_SECRET is not set"):
        Settings(mongodb_url="mongodb://127.0.0.1:1")


def test_long_secrets_are_accepted_and_kept() -> None:
    s = Settings(**SERVER, webhook_secret=LONG, cursor_secret=LONG + "c")
    assert s.webhook_secret.get_secret_value() == LONG
    assert s.cursor_secret.get_secret_value() == LONG + "c"


def test_embedded_default_draws_random_secrets_per_process() -> None:
    a, b = Settings(), Settings(cursor_secret="dev-cursor-secret-change-me")
    for s in (a, b):
        for name in ("webhook_secret", "cursor_secret"):
            value = getattr(s, name).get_secret_value()
            assert len(value) >= MIN_SECRET_LENGTH and "change-me" not in value
    assert a.cursor_secret.get_secret_value() != b.cursor_secret.get_secret_value()


def test_serve_refuses_to_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("WEBHOOK_SECRET", LONG)
    monkeypatch.setenv("CURSOR_SECRET", "dev-cursor-secret-change-me")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "CURSOR_SECRET is a public placeholder" in result.output
