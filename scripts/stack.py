"""`scripts/dev stack`: the production topology on one machine, without Docker.

Starts, in order, and supervises until SIGINT/SIGTERM:

  mongo     the MongoDB wire-protocol server (SecantusDB, `.venv-wire`), a one-node replica set
            storing under DATA/mongo
  redis     redis-server, append-only file under DATA/redis
  es        an Elasticsearch node (service/localnode/elasticsearch_node.py), data under DATA/es
  migrate   `marketplace migrate up` (one-shot)
  indexer   `marketplace indexer run --source changestream`
  seed      `marketplace seed` (one-shot, first start only: DATA/seeded marks it done)
  api       `marketplace serve --workers 2`

Secrets are generated once into DATA/secrets.env; the environment the processes share is printed
as export lines on stdout and written to DATA/stack.env, so `marketplace index status`,
`migrate status` or `ledger reconcile` run against the stack from another shell. Each process
logs to DATA/logs/<name>.log. Every child dies with this supervisor, however it dies; a clean
stop (Ctrl-C, SIGTERM) stops them in reverse order, letting each flush.

    .venv/bin/python scripts/stack.py [--data-dir DIR] [--port 8000] [--listings 1000] ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import pymongo
import redis

from documents import IndexerCheckpoint
from indexers.checkpoints import checkpoint_name
from indexers.definition import alias_name
from service.localnode.children import spawn
from service.localnode.elasticsearch_node import ES_USER, LocalNode, NodeError
from service.localnode.wire_server import wire_server_binary

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MARKETPLACE = BIN / "marketplace"
SECRET_NAMES = ("WEBHOOK_SECRET", "CURSOR_SECRET")
# Keys the stack decides; anything the caller's shell set for them is dropped.
STACK_KEYS = (
    "MONGODB_URL",
    "MONGODB_DATABASE",
    "REDIS_URL",
    "ELASTICSEARCH_URL",
    "ELASTICSEARCH_INDEX_PREFIX",
    *SECRET_NAMES,
    "SESSION_COOKIE_SECURE",
    "RUN_EMBEDDED_INDEXER",
)
# Change-stream history kept by the wire server: an indexer stopped for less than this resumes
# from its token; after a longer break it gets "history lost" and rebuilds the index itself.
OPLOG_RETENTION_S = 7 * 24 * 3600


class StackError(RuntimeError):
    pass


class Stopping(Exception):  # a signal, not an error
    pass


def say(msg: str) -> None:
    print(f"\033[1m[stack]\033[0m {msg}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    stop_signal: signal.Signals = signal.SIGTERM
    grace_s: float = 30.0

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """The stop signal, then SIGKILL to its whole process group (workers included)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop within {self.grace_s:.0f}s: killing it")
        # Its own session (start_new_session), so the group id is its pid.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


def env_default(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scripts/dev stack",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="The production topology on one machine: wire-protocol MongoDB, Redis, "
        "Elasticsearch, migrations, the API (N workers) and the change-stream indexer.",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("STACK_DATA_DIR") or ROOT / ".data"),
        help="where data, secrets and logs live (env STACK_DATA_DIR)",
    )
    p.add_argument(
        "--host", default=os.environ.get("STACK_HOST", "127.0.0.1"), help="API bind address"
    )
    p.add_argument(
        "--port", type=int, default=env_default("STACK_PORT", 8000), help="API port (STACK_PORT)"
    )
    p.add_argument(
        "--workers", type=int, default=env_default("STACK_WORKERS", 2), help="API workers"
    )
    p.add_argument(
        "--mongo-port", type=int, default=env_default("STACK_MONGO_PORT", 27027), help="MongoDB"
    )
    p.add_argument(
        "--redis-port", type=int, default=env_default("STACK_REDIS_PORT", 6389), help="Redis"
    )
    p.add_argument(
        "--es-port", type=int, default=env_default("STACK_ES_PORT", 9209), help="Elasticsearch"
    )
    p.add_argument(
        "--database", default=os.environ.get("STACK_DATABASE", "marketplace"), help="MongoDB db"
    )
    p.add_argument(
        "--listings",
        type=int,
        default=env_default("STACK_SEED_LISTINGS", 1000),
        help="demo listings seeded on the first start (0: seed nothing)",
    )
    p.add_argument("--ready-timeout", type=float, default=180.0, help="seconds per start step")
    return p.parse_args(argv)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_secrets(path: Path) -> dict[str, str]:
    """Long random secrets, generated on the first start and kept (mode 0600) under the data dir."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in SECRET_NAMES:
                values[key.strip()] = value.strip()
    missing = [name for name in SECRET_NAMES if not values.get(name)]
    if missing:
        for name in missing:
            values[name] = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("".join(f"{k}={values[k]}\n" for k in SECRET_NAMES))
    os.chmod(path, 0o600)
    return values


def check_traversable(path: Path, user: str) -> None:
    """Elasticsearch runs as `user` when we are root: it must reach the data dir."""
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise StackError(
                f"{parent} is not traversable by {user} (who runs Elasticsearch): "
                f"chmod o+x {parent}, or pass another --data-dir"
            )


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data: Path = args.data_dir.resolve()
        self.logs = self.data / "logs"
        self.children: list[Child] = []
        self.node: LocalNode | None = None
        self.env: dict[str, str] = {}

    # --- start ---------------------------------------------------------------------------

    def start(self) -> None:
        a = self.args
        for name, port in (
            ("API", a.port),
            ("MongoDB", a.mongo_port),
            ("Redis", a.redis_port),
            ("Elasticsearch", a.es_port),
        ):
            if not port_free(port):
                raise StackError(f"port {port} ({name}) is in use: pick another one (--help)")
        for sub in ("mongo", "redis", "logs"):
            (self.data / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(self.data / sub, 0o700)
        if os.geteuid() == 0:
            os.chmod(self.data, 0o755)  # Elasticsearch's user must reach DATA/es
            check_traversable(self.data, ES_USER)
        secret_values = load_secrets(self.data / "secrets.env")
        mongo_url = f"mongodb://127.0.0.1:{a.mongo_port}/?replicaSet=secantus"
        self.env = {
            "MONGODB_URL": mongo_url,
            "MONGODB_DATABASE": a.database,
            "REDIS_URL": f"redis://127.0.0.1:{a.redis_port}/0",
            "ELASTICSEARCH_URL": f"http://127.0.0.1:{a.es_port}",
            "ELASTICSEARCH_INDEX_PREFIX": "",
            **secret_values,
            # Plain http on localhost: the login cookie must not require TLS.
            "SESSION_COOKIE_SECURE": "false",
            # The indexer is its own process, as in production.
            "RUN_EMBEDDED_INDEXER": "false",
        }
        say(f"data in {self.data}, logs in {self.logs}/<process>.log")

        self.start_mongo(mongo_url)
        self.start_redis()
        say("starting Elasticsearch (about 30 s)...")
        self.node = LocalNode(port=a.es_port, data_dir=self.data / "es")
        self.node.start(timeout_s=a.ready_timeout)
        say(f"es: {self.node.url}, data in {self.data / 'es'}")

        self.run_once("migrate", [str(MARKETPLACE), "migrate", "up"], ELASTICSEARCH_TIMEOUT_S="60")
        indexer = self.spawn_child(
            "indexer", [str(MARKETPLACE), "indexer", "run", "--source", "changestream"]
        )
        self.wait_for_checkpoint(mongo_url, indexer)
        self.seed_once()
        api = self.spawn_child(
            "api",
            [
                str(MARKETPLACE),
                "serve",
                "--host",
                a.host,
                "--port",
                str(a.port),
                "--workers",
                str(a.workers),
            ],
            stop_signal=signal.SIGINT,
        )
        self.wait_ready(api)

    def child_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in STACK_KEYS}
        env.update(self.env)
        env.update(extra)
        return env

    def open_log(self, name: str) -> IO[bytes]:
        fh = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed once spawned
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        fh.write(f"--- {stamp} stack start ---\n".encode())
        fh.flush()
        return fh

    def spawn_child(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> Child:
        with self.open_log(name) as out:
            # Own session: a terminal's Ctrl-C reaches only us, and we stop them in order.
            proc = spawn(
                args,
                env=env if env is not None else self.child_env(),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, proc, self.logs / f"{name}.log", stop_signal)
        self.children.append(child)
        return child

    def run_once(self, name: str, args: Sequence[str], **extra: str) -> None:
        say(f"{name}: {shlex.join(['marketplace', *args[1:]])}")
        child = self.spawn_child(name, args, env=self.child_env(**extra))
        rc = child.proc.wait()
        self.children.remove(child)
        if rc != 0:
            raise StackError(f"{name} failed (exit {rc}):\n{child.tail()}")

    def wait_until(self, what: str, probe: Any, child: Child | None = None) -> None:
        deadline = time.monotonic() + self.args.ready_timeout
        while True:
            if child is not None and child.proc.poll() is not None:
                raise StackError(
                    f"{child.name} exited ({child.proc.returncode}) before {what}:\n{child.tail()}"
                )
            if probe():
                return
            if time.monotonic() > deadline:
                tail = f":\n{child.tail()}" if child else ""
                raise StackError(f"timed out waiting for {what}{tail}")
            time.sleep(0.2)

    def start_mongo(self, url: str) -> None:
        # Not WireMongoServer: this one keeps its log, its session (see spawn_child), and a week
        # of change-stream history.
        try:
            binary = wire_server_binary()
        except RuntimeError as exc:
            raise StackError(str(exc)) from exc
        child = self.spawn_child(
            "mongo",
            [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.args.mongo_port),
                "--storage-path",
                str(self.data / "mongo"),
                "--oplog-retention-seconds",
                str(OPLOG_RETENTION_S),
                "--log-level",
                "WARNING",
            ],
        )
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=500
        )

        def ping() -> bool:
            try:
                client.admin.command("ping")
                return True
            except pymongo.errors.PyMongoError:
                return False

        try:
            self.wait_until("MongoDB to answer", ping, child)
        finally:
            client.close()
        say(f"mongo: {url}, data in {self.data / 'mongo'}")

    def start_redis(self) -> None:
        child = self.spawn_child(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.args.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
        )
        client = redis.Redis(port=self.args.redis_port)

        def ping() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            self.wait_until("Redis to answer", ping, child)
        finally:
            client.close()
        say(f"redis: {self.env['REDIS_URL']}, append-only file in {self.data / 'redis'}")

    def wait_for_checkpoint(self, url: str, indexer: Child) -> None:
        """The indexer pins its change-stream position before anything is written (the seed, the
        API): on a first start it has no token and follows the stream from "now"."""
        name = checkpoint_name(alias_name(self.env["ELASTICSEARCH_INDEX_PREFIX"]), "changestream")
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url)
        coll = client[self.args.database][IndexerCheckpoint.Settings.name]
        try:
            self.wait_until(
                "the indexer's change-stream checkpoint",
                lambda: coll.find_one({"name": name, "resume_token": {"$ne": None}}) is not None,
                indexer,
            )
        finally:
            client.close()
        say("indexer: following the change stream")

    def seed_once(self) -> None:
        marker = self.data / "seeded"
        if marker.exists():
            say(f"demo data already seeded ({marker.read_text().strip()}): kept")
            return
        if self.args.listings > 0:
            self.run_once("seed", [str(MARKETPLACE), "seed", "--listings", str(self.args.listings)])
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        marker.write_text(json.dumps({"listings": self.args.listings, "at": stamp}) + "\n")

    def wait_ready(self, api: Child) -> None:
        url = f"http://127.0.0.1:{self.args.port}/readyz"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=3) as resp:
                    return bool(resp.status == 200)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return False

        self.wait_until("the API's /readyz", ready, api)

    # --- run ------------------------------------------------------------------------------

    def print_env(self) -> None:
        lines = [f"export {k}={shlex.quote(v)}" for k, v in self.env.items()]
        env_file = self.data / "stack.env"
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("# written by scripts/dev stack; `source` it in another shell\n")
            fh.write("\n".join(lines) + "\n")
        base = f"http://{self.args.host}:{self.args.port}"
        print("\n".join(lines), flush=True)
        print(f"# stack ready: API on {base} (docs at {base}/docs)", flush=True)
        say(f"ready: {base}/docs; in another shell: source {env_file}; Ctrl-C stops everything")

    def watch(self) -> int:
        """Until a signal (Stopping) or a child dies (exit 1, with its log's tail)."""
        while True:
            for child in self.children:
                if child.proc.poll() is not None:
                    say(f"{child.name} exited ({child.proc.returncode}); its log:\n{child.tail()}")
                    return 1
            if self.node is not None and self.node.process and self.node.process.poll() is not None:
                say(f"Elasticsearch exited; its log:\n{self.node.tail_log()}")
                return 1
            time.sleep(0.5)

    def stop(self) -> None:
        """Reverse order: the API, the indexer (flushes), Elasticsearch, Redis, MongoDB."""
        children = self.children
        while children and children[-1].name not in ("redis", "mongo"):
            child = children.pop()
            say(f"stopping {child.name}")
            child.stop()
        if self.node is not None:
            say("stopping es")
            self.node.stop()
            self.node = None
        while children:
            child = children.pop()
            say(f"stopping {child.name}")
            child.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stack = Stack(args)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise Stopping(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        stack.print_env()
        return stack.watch()
    except Stopping as sig:
        say(f"{sig}: stopping")
        return 0
    except (StackError, NodeError) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        # No signal may cut the shutdown short; every step has its own timeout.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
