"""`marketplace seed`: demo data into MONGODB_URL (or a throwaway embedded store), with progress."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn

console = Console()


def seed(
    listings: Annotated[int, typer.Option(min=0, help="how many listings")] = 1000,
    users: Annotated[
        int | None, typer.Option(min=2, help="hosts + guests (default: listings/10, at least 20)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same data")] = 42,
    anchor: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="date the data is laid out around (default: today, UTC); pin it for "
            "byte-identical output on any day",
        ),
    ] = None,
) -> None:
    """Insert realistic synthetic hosts, guests, listings, bookings and reviews."""
    from service.core.config import get_settings
    from service.core.mongo import init_db, make_client
    from service.seeding.load import SeedError, seed_database

    settings = get_settings()
    if settings.embedded_mongo:
        console.print(
            "[yellow]MONGODB_URL is not set: seeding a fresh embedded in-process store that is "
            "gone when this command exits (useful for timing only; `marketplace serve` seeds "
            "its own).[/yellow]"
        )

    async def main() -> None:
        client = make_client(settings)
        try:
            await init_db(client, settings)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as bar:
                tasks: dict[str, TaskID] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(stage, total=total)
                    bar.update(tasks[stage], completed=done)

                report = await seed_database(
                    listings=listings,
                    users=users if users is not None else max(20, listings // 10),
                    seed=seed,
                    anchor=anchor.date() if anchor else None,
                    settings=settings,
                    progress=progress,
                )
        except SeedError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        finally:
            client.close()
        for key, value in report.summary().items():
            console.print(f"{key:>10}: {value}")
        console.print(
            f"demo logins: {', '.join(report.demo_logins)} "
            f"(password [bold]{report.demo_password}[/bold])"
        )

    asyncio.run(main())
