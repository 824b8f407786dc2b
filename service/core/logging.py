"""Structured logs: one JSON object per line, with secrets redacted wherever they appear.

The access log (logger `marketplace.access`) writes one line per request with method, route
template, status, latency_ms, request_id and user_id when known. Request bodies, cookies and
the Authorization header are never logged; `redact` is a second line of defence for messages.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from service.core.config import Settings

ACCESS_LOGGER = "marketplace.access"

# Keys whose values must never reach a log line, whatever logger emits them.
SECRET_KEYS = frozenset(
    {"password", "token", "authorization", "cookie", "set-cookie", "secret", "password_hash"}
)
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r'(?i)("?(?:password|token|secret|authorization|cookie)"?\s*[:=]\s*)("[^"]*"|\S+)'),
]
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "[redacted]" if str(k).lower() in SECRET_KEYS else _clean(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


class JsonFormatter(logging.Formatter):
    """`{"ts","level","logger","msg", ...extra fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = "[redacted]" if key.lower() in SECRET_KEYS else _clean(value)
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(doc, default=str).decode()


_HANDLER_FLAG = "_marketplace_handler"


def configure_logging(settings: Settings) -> None:
    """Install one stderr handler on the root logger (idempotent: re-configures in place)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _HANDLER_FLAG, True)
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter()
        if settings.log_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root.setLevel(settings.log_level)
    # uvicorn's own access log would duplicate ours without the route template or request id.
    logging.getLogger("uvicorn.access").disabled = True
