"""The ordered list of migrations. Append only; never rename or reorder an applied one."""

from __future__ import annotations

from documents import (
    ALL_DOCUMENTS,
    AppliedMigration,
    FxTable,
    Notification,
    SavedSearch,
    WishlistEntry,
)
from migrations.base import Migration
from migrations.indexes import CreateIndexes
from migrations.search_index import SearchFieldsAdded, SearchIndex

# Collections added after 0001 was applied: their indexes come with a migration of their own
# (0001 already ran on existing deployments and would never create them).
DISCOVERY = [WishlistEntry, SavedSearch, Notification]
LATER = [*DISCOVERY, FxTable]


def _registry() -> list[Migration]:
    migrations: list[Migration] = [
        CreateIndexes(
            "0001_collection_indexes",
            # The state collection's own unique index is kept by the runner, so rolling every
            # migration back never leaves the bookkeeping unguarded.
            [d for d in ALL_DOCUMENTS if d is not AppliedMigration and d not in LATER],
            description="create every collection's indexes from the documents' Settings",
        ),
        SearchIndex("0002_search_index"),
        SearchFieldsAdded(
            "0003_search_booking_terms",
            "add instant_book and min_nights to the listings index (search hits show them)",
        ),
        CreateIndexes(
            "0004_discovery_indexes",
            DISCOVERY,
            description="wishlists, saved searches and notifications",
        ),
        CreateIndexes(
            "0005_fx_tables",
            [FxTable],
            description="the exchange-rate table (one version per document, unique)",
        ),
        SearchFieldsAdded(
            "0006_search_fx_figures",
            "add the base-currency sort figures and their fx version to the listings index",
        ),
    ]
    names = [m.name for m in migrations]
    if names != sorted(names) or len(set(names)) != len(names):
        raise RuntimeError(f"migration names must be unique and sorted: {names}")
    return migrations


MIGRATIONS: list[Migration] = _registry()
