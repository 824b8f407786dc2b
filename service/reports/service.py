"""Revenue report from the ledger with an aggregation pipeline ($match/$project/$group/$sort).

GMV is what guests paid (capture legs on provider clearing), refunds what went back to them,
commission and guest fees what the platform earned on settled bookings. Each ledger entry carries
its booking's category, so grouping by category needs no join.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from documents import EntryKind, LedgerEntry
from service.payments import ledger
from service.reports.schemas import GroupBy, RevenueReport, RevenueRow


def pipeline(frm: datetime, to: datetime, group_by: GroupBy) -> list[dict[str, Any]]:
    key: Any = (
        {"$dateToString": {"format": "%Y-%m", "date": "$created_at"}}
        if group_by == "month"
        else "$category"
    )
    return [
        {
            "$match": {
                "created_at": {"$gte": frm, "$lt": to},
                "account": {"$in": [ledger.CLEARING, ledger.REVENUE, ledger.FEES]},
                "kind": {
                    "$in": [
                        EntryKind.capture.value,
                        EntryKind.refund.value,
                        EntryKind.commission.value,
                    ]
                },
            }
        },
        {"$project": {"key": key, "currency": 1, "kind": 1, "account": 1, "amount": 1}},
        {
            "$group": {
                "_id": {"key": "$key", "c": "$currency", "kind": "$kind", "a": "$account"},
                "total": {"$sum": "$amount"},
                "n": {"$sum": 1},
            }
        },
        {"$sort": {"_id.key": 1, "_id.c": 1}},
    ]


async def revenue(frm: datetime, to: datetime, group_by: GroupBy) -> RevenueReport:
    raw = (
        await LedgerEntry.get_motor_collection()
        .aggregate(pipeline(frm, to, group_by))
        .to_list(None)
    )
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for r in raw:
        ident = r["_id"]
        key = ident.get("key") or "uncategorized"
        row = rows.setdefault(
            (key, ident["c"]),
            {"gmv": 0, "refunds": 0, "commission": 0, "guest_fees": 0, "payments": 0},
        )
        kind, account, total = ident["kind"], ident["a"], r["total"]
        if kind == EntryKind.capture and account == ledger.CLEARING:
            row["gmv"] += total
            row["payments"] += r["n"]
        elif kind == EntryKind.refund and account == ledger.CLEARING:
            row["refunds"] += -total
        elif account == ledger.REVENUE:
            row["commission"] += -total
        elif account == ledger.FEES:
            row["guest_fees"] += -total
    return RevenueReport(
        from_=frm,
        to=to,
        group_by=group_by,
        rows=[RevenueRow.of(key, cur, v) for (key, cur), v in sorted(rows.items())],
    )
