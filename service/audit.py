"""Audit trail for sensitive actions (login failures, role changes, payouts, erasure).

`record` never raises into the caller's request: an audit write that fails is logged loudly,
because refusing a payout or a login over an audit hiccup would be worse.
"""

from __future__ import annotations

import logging
from typing import Any

from documents import AuditEvent

log = logging.getLogger(__name__)

LOGIN_FAILED = "auth.login_failed"
LOGIN_LOCKED = "auth.login_locked"
ROLES_CHANGED = "account.roles_changed"
ACCOUNT_ERASED = "account.erased"
PAYOUT_CREATED = "payout.created"
PAYOUT_PAID = "payout.paid"
FX_RATES_SET = "fx.rates_set"


async def record(
    action: str,
    actor_id: str | None = None,
    subject_id: str | None = None,
    ip: str | None = None,
    **data: Any,
) -> AuditEvent | None:
    """Append one audit event. `data` must not carry secrets (passwords, tokens)."""
    event = AuditEvent(action=action, actor_id=actor_id, subject_id=subject_id, ip=ip, data=data)
    try:
        await event.insert()
    except Exception:
        log.exception("audit write failed for %s", action)
        return None
    return event
