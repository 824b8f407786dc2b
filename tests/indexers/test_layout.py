"""Index shards and replicas are settings (SEARCH_INDEX_SHARDS, SEARCH_INDEX_REPLICAS) that a
rebuild applies to the index it creates; the bulk load itself runs without replicas."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from indexers import rebuild as rebuild_module
from indexers.aliases import alias_targets
from indexers.config import IndexerConfig
from indexers.rebuild import rebuild, verify
from service.core.config import Settings
from tests.indexers.helpers import insert, make_listing


def test_layout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEARCH_INDEX_SHARDS", "3")
    monkeypatch.setenv("SEARCH_INDEX_REPLICAS", "2")
    cfg = IndexerConfig.of(Settings())
    assert (cfg.shards, cfg.replicas) == (3, 2)
    monkeypatch.setenv("SEARCH_INDEX_SHARDS", "0")
    with pytest.raises(ValueError, match="search_index_shards"):
        Settings()


async def test_rebuild_creates_the_configured_layout(
    app, es: AsyncElasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await insert(*(make_listing(title=f"layout {i}") for i in range(30)))
    laid_out = settings.model_copy(update={"search_index_shards": 3, "search_index_replicas": 1})
    during: list[dict[str, Any]] = []
    load = rebuild_module.load_snapshot

    async def watched(es_: AsyncElasticsearch, index: str, **kw: Any) -> tuple[int, int]:
        during.append((await es_.indices.get_settings(index=index)).body[index]["settings"])
        return await load(es_, index, **kw)

    monkeypatch.setattr(rebuild_module, "load_snapshot", watched)
    report = await rebuild(es, laid_out)
    assert report.snapshot == 30
    assert during[0]["index"]["number_of_shards"] == "3"
    assert during[0]["index"]["number_of_replicas"] == "0"  # bulk load: primaries only
    live = (await es.indices.get_settings(index=report.index)).body[report.index]["settings"]
    assert live["index"]["number_of_shards"] == "3"
    assert live["index"]["number_of_replicas"] == "1"
    assert await alias_targets(es, settings.elasticsearch_index_prefix) == [report.index]
    assert (await verify(es, settings.elasticsearch_index_prefix)).count == 0
    # The replica cannot be placed on the one test node; the index still serves every listing.
    assert (await es.count(index=report.index))["count"] == 30
