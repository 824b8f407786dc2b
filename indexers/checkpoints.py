"""Checkpoints in Mongo: written only after Elasticsearch acknowledged what they cover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from documents import IndexerCheckpoint
from documents.values import utcnow
from indexers import metrics


class Fenced(Exception):
    """A checkpoint write from an indexer whose lease epoch is older than the stored one."""


def _fenced(name: str, fence: int | None) -> dict[str, Any]:
    """The filter of a write by the holder of lease epoch `fence` (None: unfenced, embedded)."""
    if fence is None:
        return {"name": name}
    return {"name": name, "fence": {"$not": {"$gt": fence}}}


def checkpoint_name(alias: str, source: str) -> str:
    return f"{alias}:{source}"


async def load(name: str) -> IndexerCheckpoint | None:
    raw = await IndexerCheckpoint.get_motor_collection().find_one({"name": name})
    return None if raw is None else IndexerCheckpoint.model_validate(raw)


async def save(
    name: str,
    *,
    resume_token: dict[str, Any] | None = None,
    last_updated_at: datetime | None = None,
    last_id: str | None = None,
    source: str = "",
    fence: int | None = None,
) -> None:
    """Upsert the checkpoint. With `fence` (the writer's lease epoch) the write only lands if
    no later epoch wrote it: otherwise the filter misses, the upsert collides with the stored
    checkpoint on the unique `name` index, and `Fenced` is raised."""
    now = utcnow()
    sets: dict[str, Any] = {"updated_at": now}
    if fence is not None:
        sets["fence"] = fence
    if resume_token is not None:
        sets["resume_token"] = resume_token
    if last_updated_at is not None:
        sets["last_updated_at"] = last_updated_at
        sets["last_id"] = last_id
    try:
        await IndexerCheckpoint.get_motor_collection().update_one(
            _fenced(name, fence), {"$set": sets}, upsert=True
        )
    except DuplicateKeyError as exc:
        if fence is None:
            raise
        raise Fenced(f"checkpoint {name} was written by a later lease epoch than {fence}") from exc
    metrics.CHECKPOINT_AGE.labels(source or name).set(now.timestamp())


async def clear(name: str, fence: int | None = None) -> None:
    await IndexerCheckpoint.get_motor_collection().delete_one(_fenced(name, fence))


async def all_checkpoints() -> list[IndexerCheckpoint]:
    cursor = IndexerCheckpoint.get_motor_collection().find({})
    return [IndexerCheckpoint.model_validate(raw) async for raw in cursor]
