"""Audit events for sensitive actions: role changes here; login failures in test_bruteforce.py,
erasure in tests/privacy."""

from __future__ import annotations

import httpx
import pytest

from documents import AuditEvent, Role
from service import audit
from service.accounts.service import set_roles
from service.core.errors import ProblemError
from tests.conftest import Account


async def test_role_changes_are_audited_and_take_effect(
    client: httpx.AsyncClient, guest: Account
) -> None:
    before = await client.get("/v1/admin/reports/revenue", headers=guest.headers)
    assert before.status_code == 403
    user = await set_roles(guest.id, [Role.guest, Role.admin], actor_id="ops-1", ip="10.0.0.1")
    assert set(user.roles) == {Role.guest, Role.admin}
    events = await AuditEvent.find(AuditEvent.action == audit.ROLES_CHANGED).to_list()
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.subject_id, event.ip) == ("ops-1", guest.id, "10.0.0.1")
    assert event.data == {"before": ["guest"], "after": ["admin", "guest"]}
    # The same session now carries the new role (roles are read per request).
    after = await client.get(
        "/v1/admin/reports/revenue",
        params={"from": "2026-01-01", "to": "2026-12-31"},
        headers=guest.headers,
    )
    assert after.status_code == 200, after.text
    # No change, no event; unknown users are 404.
    await set_roles(guest.id, [Role.admin, Role.guest])
    assert await AuditEvent.find(AuditEvent.action == audit.ROLES_CHANGED).count() == 1
    with pytest.raises(ProblemError) as exc:
        await set_roles("0123456789abcdef01234567", [Role.guest])
    assert exc.value.status == 404


async def test_record_never_breaks_the_caller_and_keeps_no_secrets() -> None:
    event = await audit.record(audit.PAYOUT_CREATED, actor_id="h1", subject_id="p1", amount=100)
    assert event is not None and event.data == {"amount": 100}
    stored = await AuditEvent.find_one(AuditEvent.action == audit.PAYOUT_CREATED)
    assert stored is not None and stored.subject_id == "p1"
