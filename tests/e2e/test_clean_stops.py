"""`marketplace serve` never leaves a child behind, however it is stopped.

Each serve gets its own run marker (service/localnode/children.py), which every process it
starts inherits, so "its children" means exactly the processes carrying that marker: the local
Elasticsearch launcher and server JVM, or the uvicorn workers of `--workers 2`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from service.localnode.children import RUN_MARKER, spawn
from tests.conftest import secret_env
from tests.services import free_port

MARKETPLACE = Path(sys.executable).parent / "marketplace"
pytestmark = pytest.mark.slow


def marked(marker: str) -> list[int]:
    """Live (non-zombie) processes carrying `marker`."""
    found = []
    needle = f"{RUN_MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = next(
                line for line in (entry / "status").read_text().splitlines() if line[:6] == "State:"
            )
        except (OSError, StopIteration):
            continue
        if "Z" not in state.split()[1]:
            found.append(int(entry.name))
    return found


def start_serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str, str]:
    marker = uuid.uuid4().hex
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process it logs
    proc = spawn(
        [str(MARKETPLACE), "serve", "--port", str(port), *args],
        env={**env, RUN_MARKER: marker, "LOG_LEVEL": "WARNING", "SEED_DEMO_LISTINGS": "20"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"serve exited early:\n{log.read().decode(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "serve not up in 180 s"
        time.sleep(0.3)
    return proc, base, marker


def assert_nothing_left(proc: subprocess.Popen[bytes], marker: str) -> None:
    proc.wait(timeout=60)
    time.sleep(10)  # the yardstick: nothing alive 10 s after the parent ended
    left = marked(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"children of serve survived it: {left}"


def embedded_env() -> dict[str, str]:
    drop = ("MONGODB_URL", "REDIS_URL", "ELASTICSEARCH_URL")
    return {k: v for k, v in os.environ.items() if k not in drop}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_serve_with_its_own_elasticsearch_leaves_nothing(sig: signal.Signals) -> None:
    proc, _base, marker = start_serve(embedded_env())
    children = [pid for pid in marked(marker) if pid != proc.pid]
    assert children, "serve should have started a local Elasticsearch node"
    proc.send_signal(sig)
    assert_nothing_left(proc, marker)
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM  # it unwound, stopping the node itself


@pytest.mark.realmongo
def test_serve_workers_die_with_a_killed_supervisor(mongo_url: str, es_url: str) -> None:
    env = {
        **os.environ,
        "MONGODB_URL": mongo_url,
        "MONGODB_DATABASE": f"stops_{uuid.uuid4().hex[:8]}",
        "ELASTICSEARCH_URL": es_url,
        "ELASTICSEARCH_INDEX_PREFIX": f"t{uuid.uuid4().hex[:10]}-",
        **secret_env(),
    }
    env.pop("REDIS_URL", None)
    proc, base, marker = start_serve(env, "--workers", "2")
    deadline = time.monotonic() + 60
    while len([p for p in marked(marker) if p != proc.pid]) < 2:
        assert time.monotonic() < deadline, "two workers never appeared"
        time.sleep(0.2)
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    proc.kill()
    assert_nothing_left(proc, marker)
