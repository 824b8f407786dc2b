"""A local MongoDB wire-protocol server (SecantusDB) for the test suite, the benchmarks and
`scripts/dev stack`.

SecantusDB is GPL-2.0: it lives in its own virtualenv (`.venv-wire`, made by scripts/dev) and
runs only as a separate server process; nothing here imports it. It is a stand-in that speaks
MongoDB's protocol with change streams, resume tokens and transactions; production runs MongoDB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pymongo

from service.localnode.children import spawn

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wire_server_binary() -> Path:
    """`secantusd-py` from `.venv-wire` (scripts/dev setup makes it), or WIRE_MONGO_BIN."""
    binary = Path(os.environ.get("WIRE_MONGO_BIN") or ROOT / ".venv-wire/bin/secantusd-py")
    if not binary.exists():
        raise RuntimeError(f"{binary} missing: run scripts/dev setup (it installs the wire server)")
    return binary


class WireMongoServer:
    """A one-node replica set (`secantus`) speaking MongoDB's wire protocol, with change streams,
    resume tokens, code 286 when history is lost, and transactions. In memory unless `storage`
    is given; `oplog_max_entries` makes history loss easy to provoke. A fresh server per test
    session: it slows down the longer one process lives."""

    def __init__(
        self,
        *,
        storage: Path | None = None,
        oplog_max_entries: int | None = None,
        port: int | None = None,
    ) -> None:
        self.binary = wire_server_binary()
        self.port = port or free_port()
        self.storage = storage
        self.oplog_max_entries = oplog_max_entries
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="marketplace-wire-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet=secantus"

    def start(self, timeout_s: float = 60.0) -> WireMongoServer:
        args = [
            str(self.binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage-path",
            str(self.storage) if self.storage else ":memory:",
            "--log-level",
            "WARNING",
        ]
        if self.oplog_max_entries is not None:
            args += ["--oplog-max-entries", str(self.oplog_max_entries)]
        with open(self.log, "ab") as out:
            self.process = spawn(args, stdout=out, stderr=subprocess.STDOUT)
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            self.url, serverSelectionTimeoutMS=500
        )
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"wire server exited early:\n{self.log.read_text()[-2000:]}")
                try:
                    client.admin.command("ping")
                    return self
                except pymongo.errors.PyMongoError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            client.close()

    def stop(self, *, kill: bool = False) -> None:
        if self.process is not None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)
