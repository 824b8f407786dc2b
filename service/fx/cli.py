"""`marketplace fx set EUR USD=1.0832 KRW=1456.2`: what PUT /v1/admin/fx does, audited."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from pydantic import ValidationError

from service.core.config import Settings, get_settings
from service.core.mongo import init_db, make_client

app = typer.Typer(no_args_is_help=True, help="The exchange-rate table (audited).")


async def _set(settings: Settings, base: str, rates: dict[str, str], actor: str) -> str:
    from service.fx.schemas import FxTableIn, FxTableOut
    from service.fx.service import set_table

    try:
        body = FxTableIn(base=base, rates=rates)
    except ValidationError as exc:
        raise typer.BadParameter(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    client = make_client(settings)
    try:
        await init_db(client, settings)
        table = await set_table(actor, base=body.base, rates=body.rates)
        return FxTableOut.of(table).model_dump_json()
    finally:
        client.close()


def _pairs(raw: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw:
        code, sep, rate = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: give CODE=RATE, e.g. USD=1.0832")
        out[code.strip()] = rate.strip()
    return out


@app.command("set")
def set_cmd(
    base: Annotated[str, typer.Argument(help="base currency, e.g. EUR")],
    rates: Annotated[list[str], typer.Argument(help="CODE=RATE pairs: 1 base = RATE CODE")],
    actor: Annotated[str, typer.Option(help="who is making the change (audit trail)")] = "cli",
) -> None:
    """Store the next version of the table; prints it as the API answers it."""
    typer.echo(asyncio.run(_set(get_settings(), base, _pairs(rates), actor)))
