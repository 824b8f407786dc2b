"""`marketplace indexer run` and `marketplace index rebuild|verify|status`.

`make_apps(get_settings)` builds both command groups around a settings provider: the `marketplace`
command (service/cli.py, the composition root) passes the service's `get_settings`, so this
package reads its configuration without importing service/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import typer
from elasticsearch import AsyncElasticsearch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexers.clients import ops_clients

console = Console(stderr=True)


def make_apps(get_settings: Callable[[], Any]) -> tuple[typer.Typer, typer.Typer]:
    """(indexer group, index group); `get_settings()` is read when a command runs and must have
    the attributes of `indexers.clients.ClientSettings` and `indexers.config.IndexerConfig.of`."""
    indexer_app = typer.Typer(no_args_is_help=True, help="Run the Mongo -> Elasticsearch indexer.")
    index_app = typer.Typer(no_args_is_help=True, help="Operate the listings search index.")

    @contextlib.asynccontextmanager
    async def _clients() -> AsyncIterator[tuple[Any, AsyncElasticsearch, Any]]:
        current = get_settings()
        if not current.elasticsearch_url:
            console.print("[red]ELASTICSEARCH_URL is not set[/red]")
            raise typer.Exit(2)
        if current.embedded_mongo:
            console.print(
                "[yellow]MONGODB_URL is not set: this process has its own empty embedded store; "
                "the embedded API indexes itself[/yellow]"
            )
        async with ops_clients(current, current.elasticsearch_url) as clients:
            yield current, clients.es, clients.db

    @indexer_app.command("run")
    def run(
        source: Annotated[
            str | None, typer.Option(help="auto (default from settings), changestream or polling")
        ] = None,
        once: Annotated[bool, typer.Option(help="catch up once, then exit")] = False,
        metrics_port: Annotated[
            int, typer.Option(help="serve Prometheus metrics (lag, batch sizes, errors); 0 = off")
        ] = 0,
        metrics_host: Annotated[str, typer.Option(help="bind address for metrics")] = "127.0.0.1",
    ) -> None:
        """Follow listing changes into Elasticsearch until SIGINT/SIGTERM (which flush first).

        On a real MongoDB only the holder of the alias's lease writes (INDEXER_LEASE_TTL_S);
        a second `indexer run` waits, says who holds it, and takes over when it expires."""
        from indexers.aliases import ensure_index
        from indexers.runner import build_indexer, make_lease

        logging.basicConfig(level=logging.INFO)
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr=metrics_host)

        async def main() -> None:
            async with _clients() as (settings, es, db):
                await ensure_index(es, settings.elasticsearch_index_prefix)
                kind = None if source in (None, "auto") else source
                # The embedded store lives in this process only: no one to share it with.
                lease = None if settings.embedded_mongo else make_lease(settings)
                indexer = await build_indexer(es, settings, db, kind, lease=lease)
                if once:
                    await _drain_once(indexer)
                    return
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
                who = f"; lease holder id {lease.holder}" if lease is not None else ""
                console.print(
                    f"indexer running ({type(indexer.source).__name__}{who}); Ctrl-C stops"
                )
                await indexer.run(stop)
                console.print(f"stopped after flushing ({indexer.stats})")

        asyncio.run(main())

    @index_app.command("rebuild")
    def rebuild_cmd(
        chunk_size: Annotated[int, typer.Option(min=10, max=10_000, help="docs per bulk")] = 1000,
    ) -> None:
        """New concrete index from a Mongo snapshot, replay, atomic alias swap, drop the old one."""
        from indexers.rebuild import rebuild

        async def main() -> None:
            async with _clients() as (settings, es, _db):
                columns = (
                    TextColumn("[bold]rebuild"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                )
                with Progress(*columns, console=console) as bar:
                    task = bar.add_task("load", total=None)

                    def progress(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    report = await rebuild(es, settings, chunk_size=chunk_size, progress=progress)
                console.print(
                    f"alias -> {report.index}: {report.snapshot} docs, {report.replayed} replayed, "
                    f"{report.dead_letters} dead letters, {report.seconds:.1f}s "
                    f"({report.docs_per_s:.0f} docs/s); dropped {report.dropped or 'nothing'}"
                )

        asyncio.run(main())

    @index_app.command("verify")
    def verify_cmd(
        repair: Annotated[bool, typer.Option("--repair", help="re-index the drifted ids")] = False,
    ) -> None:
        """Compare Mongo and the index (ids present, versions equal); exit 1 on drift left."""
        from indexers.rebuild import repair as do_repair
        from indexers.rebuild import verify

        async def main() -> int:
            async with _clients() as (settings, es, _db):
                prefix = settings.elasticsearch_index_prefix
                drift = await verify(es, prefix)
                _print_drift(drift)
                if drift.count and repair:
                    report = await do_repair(es, settings, drift)
                    console.print(f"repaired: {report.written}")
                    if report.rebuilt is not None:
                        console.print(
                            f"index was ahead of Mongo: rebuilt into {report.rebuilt.index}"
                        )
                    drift = await verify(es, prefix)
                    _print_drift(drift)
                return 1 if drift.count else 0

        raise typer.Exit(asyncio.run(main()))

    @index_app.command("status")
    def status_cmd() -> None:
        """Alias, concrete index, doc count, checkpoint age, dead letters, and which indexer holds
        the lease until when (JSON on stdout)."""
        from indexers.rebuild import status

        async def main() -> None:
            async with _clients() as (settings, es, _db):
                info = await status(es, settings.elasticsearch_index_prefix)
                typer.echo(json.dumps(info, indent=2, default=str))

        asyncio.run(main())

    return indexer_app, index_app


async def _drain_once(indexer: Any) -> None:
    """`indexer run --once`: catch up under the lease, or leave it to the indexer holding it."""
    from indexers.lease import current

    lease = indexer.lease
    if lease is not None and await lease.try_acquire() is None:
        other = await current(lease.name)
        holder = f"{other.holder} until {other.expires_at.isoformat()}" if other else "someone"
        console.print(f"another indexer holds the lease ({holder}); it is catching up, not us")
        return
    try:
        n = await indexer.drain()
        console.print(f"indexed {n} changes ({indexer.stats})")
    finally:
        if lease is not None:
            await lease.release()


def _print_drift(drift: Any) -> None:
    console.print(
        f"checked {drift.checked} searchable listings, {drift.indexed} indexed: "
        f"{len(drift.missing)} missing, {len(drift.extra)} extra, {len(drift.stale)} stale"
    )
    if not drift.count:
        return
    table = Table("listing", "drift", "mongo version", "index version")
    for lid in drift.missing[:50]:
        table.add_row(lid, "missing", "", "")
    for lid in drift.extra[:50]:
        table.add_row(lid, "extra", "", "")
    for lid, (m, e) in list(drift.stale.items())[:50]:
        table.add_row(lid, "stale", str(m), str(e))
    console.print(table)
