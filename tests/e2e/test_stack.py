"""`scripts/dev stack` end to end: the supervisor (scripts/stack.py) on a temp data dir and free
ports; search over seeded data; the ops commands from the printed environment; Ctrl-C leaves no
process behind; a restart keeps the data (Mongo, the search index, Redis sessions), unseeded."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pymongo
import pytest

from service.localnode.children import RUN_MARKER
from service.seeding import DEMO_PASSWORD
from tests.services import free_port

pytestmark = [pytest.mark.realmongo, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "scripts" / "stack.py"
MARKETPLACE = Path(sys.executable).parent / "marketplace"
LISTINGS = 200
BOOT_TIMEOUT_S = 240.0
STACK_KEYS = (
    "MONGODB_URL",
    "MONGODB_DATABASE",
    "REDIS_URL",
    "ELASTICSEARCH_URL",
    "ELASTICSEARCH_INDEX_PREFIX",
    "WEBHOOK_SECRET",
    "CURSOR_SECRET",
    "SESSION_COOKIE_SECURE",
    "RUN_EMBEDDED_INDEXER",
)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in STACK_KEYS}


class RunningStack:
    def __init__(self, proc: subprocess.Popen[str], stderr: IO[bytes]) -> None:
        self.proc = proc
        self.stderr = stderr
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.exports: dict[str, str] = {}
        self.base = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def output(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-6000:]

    def wait_ready(self) -> None:
        """Collect the export lines until the "# stack ready" line."""
        started = time.monotonic()
        deadline = started + BOOT_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"stack not ready in {BOOT_TIMEOUT_S:.0f}s:\n{self.output()}"
            try:
                line = self.lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            assert line is not None, f"stack exited ({self.proc.poll()}):\n{self.output()}"
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").partition("=")
                # shlex.quote output: strip the quotes of a quoted value.
                self.exports[key] = value[1:-1] if value.startswith("'") else value
            elif line.startswith("# stack ready"):
                self.base = line.split("API on ", 1)[1].split()[0]
                print(f"stack ready after {time.monotonic() - started:.1f}s")
                return

    def ops_env(self) -> dict[str, str]:
        return {**clean_env(), **self.exports}

    def ops(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MARKETPLACE), *args],
            env=self.ops_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    def interrupt(self) -> int:
        """SIGINT, as Ctrl-C would; the supervisor's exit code."""
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"stack did not stop on SIGINT:\n{self.output()}")


@contextmanager
def stack(data_dir: Path, ports: dict[str, int], marker: str) -> Iterator[RunningStack]:
    env = {
        **clean_env(),
        RUN_MARKER: marker,  # inherited by every process the stack starts
        "MARKETPLACE_ES_HEAP": os.environ.get("MARKETPLACE_ES_HEAP", "512m"),
    }
    args = [sys.executable, str(STACK), "--data-dir", str(data_dir), "--listings", str(LISTINGS)]
    for name, port in ports.items():
        args += [f"--{name}", str(port)]
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,  # nothing leaks if the test dies
        )
        running = RunningStack(proc, stderr)
        try:
            running.wait_ready()
            yield running
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def marked_processes(marker: str) -> list[str]:
    """Every live process (but us) whose environment carries `marker`."""
    needle = f"{RUN_MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if needle in environ.split(b"\0"):
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append(f"{entry.name}: {cmdline[:200]}")
        except OSError:
            continue
    return found


def assert_nothing_survives(marker: str) -> None:
    time.sleep(10)
    left = marked_processes(marker)
    assert not left, "processes outlived the stack:\n" + "\n".join(left)


def wait_for_search_hits(http: httpx.Client, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = http.get("/v1/search/listings", params={"limit": 5})
        if r.status_code == 200 and r.json()["hits"]:
            return dict(r.json())
        assert time.monotonic() < deadline, f"no search hits: {r.status_code} {r.text[:500]}"
        time.sleep(0.5)


def wait_for_verify(s: RunningStack, timeout_s: float = 90) -> None:
    """`index verify` exits 0 once the indexer has caught up with the seed."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = s.ops("index", "verify")
        if r.returncode == 0:
            return
        assert time.monotonic() < deadline, f"index verify: {r.returncode}\n{r.stdout}{r.stderr}"
        time.sleep(2)


def index_status(s: RunningStack) -> dict[str, Any]:
    r = s.ops("index", "status")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def count_listings(s: RunningStack) -> int:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(s.exports["MONGODB_URL"])
    try:
        return client[s.exports["MONGODB_DATABASE"]]["listings"].count_documents({})
    finally:
        client.close()


@pytest.mark.timeout(900)
def test_stack_runs_serves_stops_and_keeps_its_data() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="marketplace-stack-"))
    data_dir.chmod(0o755)  # Elasticsearch runs as its own user when we are root
    ports = {
        "port": free_port(),
        "mongo-port": free_port(),
        "redis-port": free_port(),
        "es-port": free_port(),
    }
    marker = f"stack-test-{uuid.uuid4().hex[:12]}"
    try:
        # --- first start: migrate, seed, index through the change stream ---------------------
        with stack(data_dir, ports, marker) as s:
            for key in STACK_KEYS:
                assert key in s.exports, f"{key} not printed"
            assert len(s.exports["WEBHOOK_SECRET"]) >= 64
            assert len(s.exports["CURSOR_SECRET"]) >= 64
            assert s.exports["MONGODB_URL"].endswith(f":{ports['mongo-port']}/?replicaSet=secantus")
            assert (data_dir / "stack.env").exists() and (data_dir / "secrets.env").exists()
            assert (data_dir / "secrets.env").stat().st_mode & 0o077 == 0

            with httpx.Client(base_url=s.base, timeout=30) as http:
                assert http.get("/readyz").json()["status"] == "ok"
                found = wait_for_search_hits(http)
                assert 0 < found["total"] <= LISTINGS
                r = http.post(
                    "/v1/auth/login",
                    json={"email": "host1@example.com", "password": DEMO_PASSWORD},
                )
                assert r.status_code == 200, r.text
                token = r.json()["token"]

            assert count_listings(s) == LISTINGS
            wait_for_verify(s)
            before = index_status(s)
            assert before["alias"] == "listings" and before["doc_count"] > 0
            assert [c["name"] for c in before["checkpoints"]] == ["listings:changestream"]
            assert before["checkpoints"][0]["has_resume_token"]

            r = s.ops("index", "rebuild", timeout=180)
            assert r.returncode == 0, r.stdout + r.stderr
            rebuilt = index_status(s)
            assert rebuilt["indexes"] != before["indexes"]
            assert rebuilt["doc_count"] == before["doc_count"]
            r = s.ops("index", "verify")
            assert r.returncode == 0, r.stdout + r.stderr

            r = s.ops("migrate", "status")
            assert r.returncode == 0, r.stdout + r.stderr
            assert "0 pending" in r.stdout

            r = s.ops("ledger", "reconcile")
            assert r.returncode == 0, r.stdout + r.stderr

            assert s.interrupt() == 0, s.output()
            assert "stopped" in s.output()
        assert_nothing_survives(marker)

        # --- restart: same data, no second seed ----------------------------------------------
        with stack(data_dir, ports, marker) as s:
            assert "already seeded" in s.output()
            assert "seed: marketplace seed" not in s.output()
            assert count_listings(s) == LISTINGS
            after = index_status(s)
            assert after["indexes"] == rebuilt["indexes"], "the index did not survive"
            assert after["doc_count"] == rebuilt["doc_count"]
            with httpx.Client(base_url=s.base, timeout=30) as http:
                assert wait_for_search_hits(http, timeout_s=30)["total"] == found["total"]
                # The session lives in Redis, which kept it across the restart.
                r = http.get(
                    "/v1/listings",
                    params={"owner": "me", "limit": 5},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 200, r.text
                assert r.json()["items"]
            assert s.ops("index", "verify").returncode == 0
            assert s.interrupt() == 0, s.output()
        assert_nothing_survives(marker)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
