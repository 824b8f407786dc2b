"""Creates the Elasticsearch listings index behind its alias (via `indexers.aliases`).

Search is derived data owned by `indexers/`; this step only calls its idempotent `ensure_index`,
so a fresh deployment has the alias and mapping before the API and the indexer start. `down`
removes the alias and the indexes behind it: they hold nothing that is not in Mongo, and
`marketplace index rebuild` refills them.
"""

from __future__ import annotations

from indexers.aliases import alias_targets, drop_indexes, ensure_index, put_mapping_additions
from migrations.base import Migration, MigrationContext, MigrationError


class SearchIndex(Migration):
    description = "create the Elasticsearch listings index and its alias"

    def __init__(self, name: str) -> None:
        self.name = name

    def _es(self, ctx: MigrationContext) -> object:
        if ctx.es is None:
            raise MigrationError(
                f"{self.name} needs ELASTICSEARCH_URL (or stop before it with "
                f"`migrate up --to <previous>`)"
            )
        return ctx.es

    async def up(self, ctx: MigrationContext) -> None:
        await ensure_index(self._es(ctx), ctx.index_prefix)  # type: ignore[arg-type]

    async def down(self, ctx: MigrationContext) -> None:
        es = self._es(ctx)
        await drop_indexes(es, await alias_targets(es, ctx.index_prefix))  # type: ignore[arg-type]


class SearchFieldsAdded(SearchIndex):
    """Puts fields added to the mapping (additively, same MAPPING_VERSION) on an existing index,
    so the indexer's documents carrying them are not refused by the strict mapping. Documents
    indexed before keep lacking them until `marketplace index rebuild` (or their next write).
    `down` leaves them: older code never writes them, and a field cannot be removed in place."""

    def __init__(self, name: str, description: str) -> None:
        super().__init__(name)
        self.description = description

    async def up(self, ctx: MigrationContext) -> None:
        es = self._es(ctx)
        await ensure_index(es, ctx.index_prefix)  # type: ignore[arg-type]
        await put_mapping_additions(es, ctx.index_prefix)  # type: ignore[arg-type]

    async def down(self, ctx: MigrationContext) -> None:
        return None
