"""bench.indexer stops on one Ctrl-C at any stage, also inside long synchronous work (issue 16:
two Ctrl-C did not stop its pre-build), and cleans up the indexes it made."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from elasticsearch import Elasticsearch

from service.localnode.children import spawn

STOP_WITHIN_S = 15.0  # the bench's cleanup grace (10 s) plus interpreter exit


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            out.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return out


def _wait_for(lines: queue.Queue[str], marker: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if marker in line:
            return
    raise AssertionError(f"never saw {marker!r}; stderr: {''.join(seen)[-3000:]}")


@pytest.mark.parametrize(
    ("stage", "after_s"),
    [("seeding", 2.0), ("raw bulk 1", 0.3), ("rebuild", 0.2)],
)
def test_one_ctrl_c_stops_the_indexer_bench(es_url: str, stage: str, after_s: float) -> None:
    env = {**os.environ, "ELASTICSEARCH_URL": es_url, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "bench.indexer", "--listings", "8000", "--lag-seconds", "1"]
    proc = spawn(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = _lines(proc)
        _wait_for(lines, f"bench.indexer: {stage}", timeout_s=240)
        time.sleep(after_s)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=STOP_WITHIN_S + 10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130, code
    assert took <= STOP_WITHIN_S, took
    es = Elasticsearch(es_url)
    try:
        # Stopped with cleanup, not killed: nothing of the run is left in Elasticsearch.
        assert not es.indices.get(index="bench*", expand_wildcards="all").body
    finally:
        es.close()
