"""The exchange-rate table this process projects with (set by `indexers.fx.refresh`).

Its own module so that the projection can read it without importing the re-projection code
that imports the projection."""

from __future__ import annotations

from documents.fx import Rates

_current: Rates | None = None


def current() -> Rates | None:
    """The table the projection converts with in this process (None: none loaded or set)."""
    return _current


def use(rates: Rates | None) -> None:
    global _current
    _current = rates
