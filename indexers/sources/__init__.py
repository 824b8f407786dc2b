"""Change sources: where the indexer learns which listings changed.

Both hand the runner `Change`s and take back the ones Elasticsearch acknowledged, so the
checkpoint never runs ahead of the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from indexers.projection import IndexOp


@dataclass(frozen=True, slots=True)
class Change:
    op: IndexOp | None  # None: nothing to write, the position still advances
    # Where to resume after this change: (updated_at, id) when polling, a token for streams.
    position: Any
    observed_at: datetime | None = None  # when the change was made, for the lag metric


class ChangeSource(Protocol):
    name: str

    async def open(self) -> None: ...

    async def next_changes(self, limit: int, timeout_s: float) -> list[Change]:
        """Up to `limit` changes; waits at most about `timeout_s` when there are none."""
        ...

    @property
    def caught_up(self) -> bool:
        """True when the last call reached the end of what is known (flush now, not later)."""
        ...

    async def commit(self, changes: list[Change]) -> None:
        """Persist the position after `changes` (all acknowledged by Elasticsearch)."""
        ...

    async def close(self) -> None: ...
