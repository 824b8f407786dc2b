"""`marketplace accounts set-roles EMAIL --role ...`: the audited way to change roles."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from documents import Role, User
from service.core.config import Settings, get_settings
from service.core.mongo import init_db, make_client

app = typer.Typer(no_args_is_help=True, help="Account administration (audited).")


async def _set_roles(settings: Settings, email: str, roles: list[Role], actor: str) -> list[str]:
    from service.accounts.service import set_roles

    client = make_client(settings)
    try:
        await init_db(client, settings)
        user = await User.find_one(User.email == email.lower())
        if user is None:
            raise typer.BadParameter(f"no account for {email}")
        updated = await set_roles(str(user.id), roles, actor_id=actor)
        return [r.value for r in updated.roles]
    finally:
        client.close()


@app.command("set-roles")
def set_roles_cmd(
    email: str,
    role: Annotated[list[Role], typer.Option(help="the complete new role set (repeat)")],
    actor: Annotated[str, typer.Option(help="who is making the change (audit trail)")] = "cli",
) -> None:
    """Replace an account's roles; the change is recorded as an audit event."""
    roles = asyncio.run(_set_roles(get_settings(), email, role, actor))
    typer.echo(f"{email}: roles = {', '.join(roles)}")
