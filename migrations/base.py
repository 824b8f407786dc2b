"""What a migration is, and the context it runs in.

A migration is a named pair of coroutines `up`/`down` over the raw motor database (not Beanie
models), so it runs the same against real MongoDB and the embedded mongomock store, and a
migration written today keeps working when the documents change tomorrow.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class MigrationError(RuntimeError):
    """A migration cannot run as asked (unknown name, missing service, unknown state)."""


@dataclass
class MigrationContext:
    """Everything a migration may touch. `es` is None when no Elasticsearch is configured."""

    db: Any  # motor AsyncIOMotorDatabase (or the mongomock-motor stand-in)
    es: Any = None  # elasticsearch.AsyncElasticsearch | None
    index_prefix: str = ""  # prefix for every Elasticsearch index/alias name
    options: dict[str, Any] = field(default_factory=dict)


class Migration(ABC):
    """One ordered, reversible step. `name` sorts into the order ("0001_...", "0002_...")."""

    name: str
    description: str

    @abstractmethod
    async def up(self, ctx: MigrationContext) -> None:
        """Apply; must be idempotent (a crashed run is simply re-run)."""

    @abstractmethod
    async def down(self, ctx: MigrationContext) -> None:
        """Undo `up`; must be idempotent too."""


Step = Callable[[MigrationContext], Awaitable[None]]
