"""Index creation from the documents' own `Settings.indexes`, as a reusable migration.

The indexes are declared once, next to each Beanie document; this module turns those
declarations into `create_indexes`/`drop_index` calls on the raw collections.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pymongo
from pymongo import IndexModel
from pymongo.errors import OperationFailure

from migrations.base import Migration, MigrationContext


def collection_name(document: type) -> str:
    return document.Settings.name  # type: ignore[attr-defined,no-any-return]


def declared_indexes(document: type) -> list[IndexModel]:
    """The document's `Settings.indexes` as IndexModels (Beanie also accepts a field name or a
    list of (field, direction) pairs, so those are normalised too)."""
    models: list[IndexModel] = []
    for spec in getattr(document.Settings, "indexes", []):  # type: ignore[attr-defined]
        if isinstance(spec, IndexModel):
            models.append(spec)
        elif isinstance(spec, str):
            models.append(IndexModel([(spec, pymongo.ASCENDING)]))
        elif isinstance(spec, Sequence):
            models.append(IndexModel(list(spec)))
        else:
            raise TypeError(f"{document.__name__}: unsupported index spec {spec!r}")
    return models


def index_name(model: IndexModel) -> str:
    return model.document["name"]  # type: ignore[no-any-return]


class CreateIndexes(Migration):
    """Create the declared indexes of `documents`; `down` drops exactly those (by name).

    `only` restricts it to some index names, for a later migration that adds one index to a
    document: declare it in `Settings.indexes`, then add `CreateIndexes("000N_...", [Doc],
    only={"new_name"})` to the registry.
    """

    def __init__(
        self,
        name: str,
        documents: Iterable[type],
        *,
        description: str = "",
        only: set[str] | None = None,
    ) -> None:
        self.name = name
        self.documents = list(documents)
        self.only = only
        self.description = description or f"indexes of {len(self.documents)} collections"

    def plan(self) -> list[tuple[str, list[IndexModel]]]:
        plan = []
        for doc in self.documents:
            models = [
                m for m in declared_indexes(doc) if self.only is None or index_name(m) in self.only
            ]
            if models:
                plan.append((collection_name(doc), models))
        return plan

    async def up(self, ctx: MigrationContext) -> None:
        for coll, models in self.plan():
            # Idempotent: an identical existing index is a no-op; one with the same name but
            # other options raises, which is right (that needs a migration of its own).
            await ctx.db[coll].create_indexes(models)

    async def down(self, ctx: MigrationContext) -> None:
        for coll, models in self.plan():
            existing: dict[str, Any] = await ctx.db[coll].index_information()
            for model in models:
                if index_name(model) in existing:
                    try:
                        await ctx.db[coll].drop_index(index_name(model))
                    except OperationFailure as exc:  # dropped concurrently: the goal holds
                        if exc.code != 27:  # IndexNotFound
                            raise
