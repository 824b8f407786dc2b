"""`marketplace migrate up|down|status` against MONGODB_URL.

`make_app(get_settings)` builds the command group around a settings provider (the `marketplace`
command passes the service's), so migrations/ imports only documents/ and indexers/.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from indexers import store
from indexers.clients import ClientSettings, make_es
from migrations import runner
from migrations.base import MigrationContext

console = Console()
T = TypeVar("T")


def make_app(get_settings: Callable[[], ClientSettings]) -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, help="Ordered, reversible database migrations.")

    @contextlib.asynccontextmanager
    async def _context() -> AsyncIterator[MigrationContext]:
        settings = get_settings()
        if settings.embedded_mongo:
            console.print(
                "[yellow]MONGODB_URL is not set: running against a fresh embedded in-process "
                "store (nothing persists; useful only as a demo).[/yellow]"
            )
        client = store.make_client(settings.mongodb_url)
        es = make_es(settings)
        try:
            yield MigrationContext(
                db=client[settings.mongodb_database],
                es=es,
                index_prefix=settings.elasticsearch_index_prefix,
            )
        finally:
            if es is not None:
                await es.close()
            client.close()

    def _run(work: Callable[[MigrationContext], Awaitable[T]]) -> T:
        async def main() -> T:
            async with _context() as ctx:
                return await work(ctx)

        try:
            return asyncio.run(main())
        except runner.MigrationError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc

    @app.command("up")
    def up_command(
        to: Annotated[str | None, typer.Option(help="stop after this migration")] = None,
    ) -> None:
        """Apply pending migrations in order."""
        ran = _run(lambda ctx: runner.up(ctx, to=to))
        for name in ran:
            console.print(f"applied {name}")
        console.print(f"{len(ran)} migration(s) applied" if ran else "nothing to apply: up to date")

    @app.command("down")
    def down_command(
        steps: Annotated[
            int, typer.Option(min=1, help="how many applied migrations to revert")
        ] = 1,
    ) -> None:
        """Revert the most recently applied migrations."""
        reverted = _run(lambda ctx: runner.down(ctx, steps=steps))
        for name in reverted:
            console.print(f"reverted {name}")
        console.print(f"{len(reverted)} migration(s) reverted" if reverted else "nothing to revert")

    @app.command("status")
    def status_command() -> None:
        """List every migration and whether it is applied."""
        states = _run(runner.status)
        console.print(render_status(states))
        pending = sum(1 for s in states if s.status == "pending")
        console.print(f"{pending} pending")

    return app


def render_status(states: list[runner.MigrationState]) -> Table:
    table = Table("migration", "status", "applied at", "description")
    for s in states:
        when = s.applied_at.isoformat(timespec="seconds") if s.applied_at else "-"
        table.add_row(s.name, s.status, when, s.description)
    return table
