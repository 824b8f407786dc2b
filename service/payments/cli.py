"""`marketplace ledger ...`: reconcile the ledger with payments and the provider; pay out."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from service.core.config import Settings, get_settings
from service.core.mongo import init_db, make_client
from service.payments.provider import get_provider

app = typer.Typer(no_args_is_help=True, help="Double-entry ledger checks and payouts.")


async def _run_reconcile(settings: Settings) -> list[str]:
    from service.payments.reconcile import reconcile

    client = make_client(settings)
    try:
        await init_db(client, settings)
        return await reconcile(get_provider(settings))
    finally:
        client.close()


async def _run_payouts(settings: Settings, host: str | None) -> int:
    from service.payments.service import pay_out_pending

    client = make_client(settings)
    try:
        await init_db(client, settings)
        return await pay_out_pending(host)
    finally:
        client.close()


@app.command("reconcile")
def reconcile_cmd() -> None:
    """Check every transaction balances, every capture is booked, provider == ledger.
    Prints each discrepancy; exits 1 if there is any."""
    console = Console()
    problems = asyncio.run(_run_reconcile(get_settings()))
    for line in problems:
        console.print(f"[red]DISCREPANCY[/red] {line}", highlight=False)
    if problems:
        console.print(f"{len(problems)} discrepancies", highlight=False)
        raise typer.Exit(1)
    console.print("ledger reconciled: no discrepancies", highlight=False)


@app.command("payout")
def payout_cmd(
    host: Annotated[str | None, typer.Option(help="only this host id")] = None,
) -> None:
    """Pay out every pending host payout (posts the ledger, then marks it paid)."""
    count = asyncio.run(_run_payouts(get_settings(), host))
    typer.echo(f"paid {count} payouts")
