"""Client factories for the processes that compose the system (the API, the ops commands).

They read whatever settings object they are given through `ClientSettings`, so indexers/ and
migrations/ never import the service's configuration: the composition root (the `marketplace`
command, the API) passes its Settings down. Mongo clients come from the store adapter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from elasticsearch import AsyncElasticsearch
from elasticsearch.serializer import OrjsonSerializer

from indexers import store

# Ops commands (rebuilds, verifies) move whole indexes: they wait longer than a request does.
OPS_REQUEST_TIMEOUT_S = 60


class ClientSettings(Protocol):
    """The settings the clients are built from (service.core.config.Settings has them all)."""

    mongodb_url: str | None
    mongodb_database: str
    elasticsearch_url: str | None
    elasticsearch_timeout_s: float
    elasticsearch_index_prefix: str

    @property
    def embedded_mongo(self) -> bool: ...


def make_es(settings: ClientSettings) -> AsyncElasticsearch | None:
    """The request-path client: a short timeout and one retry, so a search that cannot be
    answered fails fast (503); None without ELASTICSEARCH_URL."""
    if not settings.elasticsearch_url:
        return None
    return AsyncElasticsearch(
        settings.elasticsearch_url,
        request_timeout=settings.elasticsearch_timeout_s,
        retry_on_timeout=False,
        max_retries=1,
        # orjson (already a dependency) encodes a search body and decodes its hits several
        # times faster than the standard library, on every request.
        serializers={"application/json": OrjsonSerializer()},
    )


def bulk_es(url: str, *, request_timeout: float = OPS_REQUEST_TIMEOUT_S) -> AsyncElasticsearch:
    """The client of bulk work (rebuilds, `indexer run`): JSON through orjson. The bulk helpers
    serialise every action with the client's serializer, and the standard library's encoder
    cost as much Python time per document as projecting it (py-spy of a rebuild); orjson
    writes the same JSON for what the projection holds (str keys, str, int, float, bool, None)
    in a fraction of that, and parses the bulk responses faster too. Measured cost: about 60 MB
    more peak RSS in `index rebuild`, the same at 20k and 100k listings (docs/performance.md)."""
    return AsyncElasticsearch(url, request_timeout=request_timeout, serializer=OrjsonSerializer())


@dataclass
class OpsClients:
    mongo: Any  # the motor (or mongomock-motor) client
    db: Any  # its database, with the Beanie documents bound to it
    es: AsyncElasticsearch


@contextlib.asynccontextmanager
async def ops_clients(settings: ClientSettings, es_url: str) -> AsyncIterator[OpsClients]:
    """Mongo (documents bound) and an Elasticsearch client for bulk work, closed on exit."""
    mongo = store.make_client(settings.mongodb_url)
    db = await store.init_documents(
        mongo, settings.mongodb_database, create_indexes=settings.embedded_mongo
    )
    es = bulk_es(es_url)
    try:
        yield OpsClients(mongo, db, es)
    finally:
        await es.close()
        mongo.close()
