"""Idempotency-Key for unsafe requests that create bookings or move money.

The first request with a key inserts an `IdempotencyRecord` (unique on scope+key) *before* doing
any work, so a concurrent duplicate finds it and gets 409 while the first is still in flight.
When the first finishes, its response is stored on the record and every replay returns it
verbatim (with `Idempotent-Replayed: true`). The same key with a different body is a 422.
Client errors (4xx) are stored too: a replay of a request that lost a race must say so again.
Server errors (5xx, unexpected exceptions) delete the record so the client can retry the key;
a record left in flight by a crashed process is taken over by a retry after ABANDONED_AFTER.
Records expire with a TTL index (documents.idempotency.IDEMPOTENCY_TTL_S).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from documents import IdempotencyRecord
from documents.values import utcnow
from service.core.errors import ProblemError, problem_response

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="makes a retry of this request return the first response",
    ),
]

REPLAY_HEADER = "Idempotent-Replayed"
# A request still "in flight" after this long has died; a retry may take its key over.
ABANDONED_AFTER = timedelta(seconds=60)

Result = tuple[int, BaseModel | dict[str, Any]]
# A handler's answer: status and body, then response headers (`Location` of a 201), which a
# replay returns too.
ResultHeaders = Callable[[BaseModel | dict[str, Any]], dict[str, str]]


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = orjson.dumps([method, path, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _payload(result: BaseModel | dict[str, Any]) -> Any:
    return result.model_dump(mode="json") if isinstance(result, BaseModel) else result


async def idempotent(
    *,
    key: str | None,
    user_id: str,
    method: str,
    path: str,
    body: Any,
    handler: Callable[[], Awaitable[Result]],
    headers: ResultHeaders | None = None,
) -> JSONResponse:
    """Run `handler` at most once per (user, route, key); replay its stored response after.
    `headers` derives response headers from the handler's result (stored with it)."""
    if key is None:
        status, result = await handler()
        return JSONResponse(
            _payload(result), status_code=status, headers=headers(result) if headers else None
        )

    scope = f"{user_id}:{method} {path}"
    digest = request_hash(method, path, body)
    record = IdempotencyRecord(key=key, scope=scope, request_hash=digest)
    try:
        await record.insert()
    except DuplicateKeyError:
        taken = await _take_over_abandoned(scope, key, digest)
        if taken is None:
            return await _replay(scope, key, digest)
        record = taken

    try:
        status, result = await handler()
    except ProblemError as problem:
        if problem.status >= 500:
            await record.delete()
            raise
        response = problem_response(problem)
        await _store(record, problem.status, orjson.loads(response.body), dict(problem.headers))
        raise
    except BaseException:
        await record.delete()
        raise
    payload = _payload(result)
    extra = headers(result) if headers else {}
    await _store(record, status, payload, extra)
    return JSONResponse(payload, status_code=status, headers=extra)


async def _store(
    record: IdempotencyRecord, status: int, body: Any, headers: dict[str, str]
) -> None:
    await IdempotencyRecord.get_motor_collection().update_one(
        {"_id": record.id},
        {"$set": {"status_code": status, "body": body, "headers": headers}},
    )


async def _take_over_abandoned(scope: str, key: str, digest: str) -> IdempotencyRecord | None:
    """An in-flight record older than ABANDONED_AFTER belongs to a request that died (a crash
    after the insert); the same request may take it over instead of being told 409 until the
    TTL expires. Atomic, so only one retry wins the takeover."""
    now = utcnow()
    raw = await IdempotencyRecord.get_motor_collection().find_one_and_update(
        {
            "scope": scope,
            "key": key,
            "request_hash": digest,
            "status_code": None,
            "created_at": {"$lt": now - ABANDONED_AFTER},
        },
        {"$set": {"created_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    return None if raw is None else IdempotencyRecord.model_validate(raw)


async def _replay(scope: str, key: str, digest: str) -> JSONResponse:
    raw = await IdempotencyRecord.get_motor_collection().find_one({"scope": scope, "key": key})
    if raw is None:
        # Deleted between our insert attempt and this read (first attempt failed with a 5xx).
        raise ProblemError(409, "a request with this Idempotency-Key failed; retry it")
    existing = IdempotencyRecord.model_validate(raw)
    if existing.request_hash != digest:
        raise ProblemError(
            422,
            "Idempotency-Key: already used with a different request body",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "reused with another body"}],
        )
    if existing.status_code is None:
        raise ProblemError(409, "a request with this Idempotency-Key is still in progress")
    headers = {**existing.headers, REPLAY_HEADER: "true"}
    if existing.status_code >= 400:
        return JSONResponse(
            existing.body,
            status_code=existing.status_code,
            headers=headers,
            media_type="application/problem+json",
        )
    return JSONResponse(existing.body, status_code=existing.status_code, headers=headers)
