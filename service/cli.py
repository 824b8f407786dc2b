"""The `marketplace` command: serve, and the ops groups (indexer, index, migrate, seed, ledger)."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from indexers.cli import make_apps as make_index_apps
from migrations.cli import make_app as make_migrate_app
from service.accounts.cli import app as accounts_app
from service.core.config import get_settings
from service.fx.cli import app as fx_app
from service.payments.cli import app as ledger_app
from service.seeding.cli import seed as seed_command

# The composition root of the ops commands: the service's settings are handed to the groups
# of packages that may not import service/ (indexers, migrations).
indexer_app, index_app = make_index_apps(get_settings)
migrate_app = make_migrate_app(get_settings)

app = typer.Typer(no_args_is_help=True, help="Marketplace backend operations.")
app.add_typer(ledger_app, name="ledger")
app.add_typer(migrate_app, name="migrate")
app.command("seed")(seed_command)
app.add_typer(indexer_app, name="indexer")
app.add_typer(index_app, name="index")
app.add_typer(accounts_app, name="accounts")
app.add_typer(fx_app, name="fx")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="bind port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Run the API. With no ELASTICSEARCH_URL, a local Elasticsearch node is started too."""
    from service.core.logging import configure_logging
    from service.localnode.children import WORKER_PDEATHSIG

    try:
        settings = get_settings()
    except ValidationError as exc:  # e.g. a placeholder secret: say which variable, no trace
        raise typer.BadParameter(
            "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()),
            param_hint="environment",
        ) from None
    configure_logging(settings)  # JSON lines unless LOG_JSON=false
    if workers > 1 and settings.embedded_mongo:
        raise typer.BadParameter("the embedded store lives in one process: use --workers 1")
    # uvicorn restores the previous SIGTERM handler and re-raises the signal once it has shut
    # down; with the default handler that kills us before the ExitStack below stops the local
    # Elasticsearch node. A handler that raises SystemExit lets the stack unwind instead.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with contextlib.ExitStack() as stack:
        if not settings.elasticsearch_url:
            from service.localnode.elasticsearch_node import LocalNode

            typer.echo("starting a local Elasticsearch node (embedded default)...", err=True)
            node = stack.enter_context(LocalNode())
            os.environ["ELASTICSEARCH_URL"] = node.url
            get_settings.cache_clear()
            typer.echo(f"Elasticsearch at {node.url}", err=True)
        if workers > 1:
            os.environ[WORKER_PDEATHSIG] = "1"  # workers die with this supervisor
        uvicorn.run(
            "service.main:app",
            host=host,
            port=port,
            workers=workers,
            # Forwarded headers are the app's business (FORWARDED_ALLOW_IPS, default none):
            # uvicorn's default trusts any local peer, which lets a client pick its address.
            proxy_headers=False,
            log_config=None,
            # uvicorn kills a worker that does not answer its health ping within this; a fresh
            # worker on a busy machine needs more than the default 5 s just to boot.
            timeout_worker_healthcheck=30,
        )


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)
