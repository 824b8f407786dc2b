"""A catch-up refreshes the live index at its own pace (issue 16): far behind, the indexer
slows the index's refreshes and restores them once caught up; a holder that died slowed is
undone by the next one once caught up; keeping up never slows them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch

from documents.values import utcnow
from indexers.definition import LIVE_SETTINGS, alias_name
from indexers.runner import Indexer
from service.core.config import Settings
from tests.indexers.helpers import index_state, insert, make_listing, mongo_state

pytestmark = pytest.mark.stores  # embedded and server tiers

LIVE = LIVE_SETTINGS["refresh_interval"]


def _spy(es: AsyncElasticsearch, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The refresh intervals the indexer sets, in order."""
    seen: list[str] = []
    real = es.indices.put_settings

    async def put_settings(**kw: Any) -> Any:
        seen.append(kw["settings"]["refresh_interval"])
        return await real(**kw)

    monkeypatch.setattr(es.indices, "put_settings", put_settings)
    return seen


async def _interval(es: AsyncElasticsearch, settings: Settings) -> str:
    got = await es.indices.get_settings(index=alias_name(settings.elasticsearch_index_prefix))
    (index,) = got.body.values()
    return str(index["settings"]["index"]["refresh_interval"])


async def test_far_behind_slows_refreshes_until_caught_up(
    app, es: AsyncElasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"indexer_batch_size": 10})
    old = utcnow() - timedelta(minutes=5)
    listings = [make_listing(title=f"old {i}") for i in range(35)]
    for x in listings:
        x.updated_at = old  # written while the indexer was stopped
    await insert(*listings)
    seen = _spy(es, monkeypatch)
    await Indexer.polling(es, settings).drain()
    # The first batch, five minutes behind, slows it, once; caught up, it is restored.
    assert seen == ["2000ms", LIVE]
    assert await _interval(es, settings) == LIVE
    assert await index_state(es, settings.elasticsearch_index_prefix) == await mongo_state()


async def test_keeping_up_never_slows_refreshes(
    app, es: AsyncElasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"indexer_batch_size": 10})
    await insert(*(make_listing(title=f"new {i}") for i in range(25)))
    seen = _spy(es, monkeypatch)
    await Indexer.polling(es, settings).drain()
    # Opening sends nothing (a start costs what it did); caught up, the pace of a holder
    # that might have died slowed is set back once.
    assert seen == [LIVE]
    assert await _interval(es, settings) == LIVE


async def test_a_holder_that_died_slowed_is_undone_by_the_next(
    app, es: AsyncElasticsearch, settings: Settings
) -> None:
    await insert(make_listing())
    await Indexer.polling(es, settings).drain()  # the index exists
    index = alias_name(settings.elasticsearch_index_prefix)
    await es.indices.put_settings(index=index, settings={"refresh_interval": "2000ms"})
    await insert(make_listing(title="fresh"))  # the next holder keeps up
    await Indexer.polling(es, settings).drain()
    assert await _interval(es, settings) == LIVE


async def test_zero_turns_the_pace_off(
    app, es: AsyncElasticsearch, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"indexer_catchup_refresh_s": 0.0})
    listing = make_listing()
    listing.updated_at = utcnow() - timedelta(minutes=5)
    await insert(listing)
    seen = _spy(es, monkeypatch)
    await Indexer.polling(es, settings).drain()
    assert seen == [LIVE]  # only the restore once caught up
