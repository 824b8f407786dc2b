"""Checkpoints in Mongo: written only after Elasticsearch acknowledged what they cover."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from documents import IndexerCheckpoint
from documents.values import utcnow
from indexers import metrics


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
) -> None:
    now = utcnow()
    sets: dict[str, Any] = {"updated_at": now}
    if resume_token is not None:
        sets["resume_token"] = resume_token
    if last_updated_at is not None:
        sets["last_updated_at"] = last_updated_at
        sets["last_id"] = last_id
    await IndexerCheckpoint.get_motor_collection().update_one(
        {"name": name}, {"$set": sets}, upsert=True
    )
    metrics.CHECKPOINT_AGE.labels(source or name).set(now.timestamp())


async def clear(name: str) -> None:
    await IndexerCheckpoint.get_motor_collection().delete_one({"name": name})


async def all_checkpoints() -> list[IndexerCheckpoint]:
    cursor = IndexerCheckpoint.get_motor_collection().find({})
    return [IndexerCheckpoint.model_validate(raw) async for raw in cursor]
