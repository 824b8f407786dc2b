"""Index lifecycle: create concrete indexes, ensure the alias exists, swap it atomically."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from indexers.definition import (
    LIVE_SETTINGS,
    MAPPINGS,
    alias_name,
    index_settings,
    new_index_name,
)

log = logging.getLogger(__name__)


async def create_index(
    es: AsyncElasticsearch,
    name: str,
    *,
    bulk_load: bool = False,
    shards: int | None = None,
    replicas: int | None = None,
) -> None:
    settings = index_settings(shards=shards, replicas=replicas, bulk_load=bulk_load)
    await es.indices.create(index=name, mappings=MAPPINGS, settings=settings)


async def put_mapping_additions(es: AsyncElasticsearch, prefix: str) -> list[str]:
    """Put the code's mapping on the indexes behind the alias. Elasticsearch merges it: fields
    new to an index are added, unchanged ones stay; a changed field is refused (that needs a
    MAPPING_VERSION bump and a rebuild instead). Returns the indexes it updated."""
    targets = await alias_targets(es, prefix)
    for name in targets:
        await es.indices.put_mapping(index=name, properties=MAPPINGS["properties"])
    return targets


async def finish_bulk_load(es: AsyncElasticsearch, name: str, *, replicas: int = 0) -> None:
    """Live settings after a bulk load, with the replicas the load went without."""
    settings = {**LIVE_SETTINGS, "number_of_replicas": replicas}
    await es.indices.put_settings(index=name, settings=settings)
    await es.indices.refresh(index=name)


async def alias_targets(es: AsyncElasticsearch, prefix: str) -> list[str]:
    """Concrete indexes behind the alias (normally exactly one; empty when missing)."""
    try:
        resp = await es.indices.get_alias(name=alias_name(prefix))
    except NotFoundError:
        return []
    return sorted(resp.body)


async def current_index(es: AsyncElasticsearch, prefix: str) -> str | None:
    targets = await alias_targets(es, prefix)
    return targets[0] if targets else None


# The first concrete index has a fixed name (the epoch as its timestamp): processes starting at
# once all try to create the same index and Elasticsearch lets exactly one succeed, so they can
# never leave two indexes behind one alias. Rebuilds use real timestamps.
FIRST_INDEX_TIME = datetime(1970, 1, 1, tzinfo=UTC)


async def ensure_index(es: AsyncElasticsearch, prefix: str = "") -> str:
    """The concrete index behind the alias, creating the first one if the alias is missing.

    Idempotent and safe when several processes race (see FIRST_INDEX_TIME).
    """
    existing = await current_index(es, prefix)
    if existing is not None:
        return existing
    alias = alias_name(prefix)
    name = new_index_name(prefix, FIRST_INDEX_TIME)
    try:
        await create_index(es, name)
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
    # Adding an alias that is already there is a no-op, so every racer may do it.
    await es.indices.update_aliases(actions=[{"add": {"index": name, "alias": alias}}])
    current = await current_index(es, prefix)
    assert current is not None
    log.info("search index ready: %s -> %s", alias, current)
    return current


async def swap_alias(es: AsyncElasticsearch, prefix: str, new: str) -> list[str]:
    """Point the alias at `new` in one atomic _aliases call; returns the indexes it left."""
    alias = alias_name(prefix)
    old = [t for t in await alias_targets(es, prefix) if t != new]
    actions: list[dict[str, Any]] = [{"remove": {"index": t, "alias": alias}} for t in old]
    actions.append({"add": {"index": new, "alias": alias}})
    await es.indices.update_aliases(actions=actions)
    return old


async def drop_indexes(es: AsyncElasticsearch, names: list[str]) -> None:
    for name in names:
        await es.indices.delete(index=name, ignore_unavailable=True)
