"""Fixtures shared with the hardening tests (apps with custom settings)."""

from tests.hardening.conftest import app_with

__all__ = ["app_with"]
