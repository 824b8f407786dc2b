"""Fault-test services: a SEPARATE Elasticsearch node this module may stop, pause and restart
(the session node is shared with every other test and must never be touched), and a private
redis-server for outage tests."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from service.localnode.elasticsearch_node import ES_USER, LocalNode, find_java_home
from tests.hardening.conftest import app_with
from tests.services import RedisServer

__all__ = ["app_with", "fault_node", "fault_redis"]


class RestartableNode(LocalNode):
    """A LocalNode that can be killed and started again on the same port with its data kept."""

    def kill(self) -> None:
        assert self.process is not None
        self._args = list(self.process.args)  # type: ignore[arg-type]
        os.killpg(self.process.pid, signal.SIGCONT)  # a paused JVM cannot handle SIGTERM
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, timeout_s: float = 180.0) -> None:
        assert self.workdir is not None and self.process is None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(find_java_home()),
            "ES_PATH_CONF": str(self.workdir / "config"),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
            "LANG": "C.UTF-8",
        }
        log_file = open(self.workdir / "stdout.log", "ab")  # noqa: SIM115 - lives with the node
        self.process = subprocess.Popen(
            self._args,
            env=env,
            cwd=self.workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=ES_USER if os.geteuid() == 0 else None,
        )
        self._wait_green(timeout_s)


@pytest.fixture(scope="module")
def fault_node() -> Iterator[RestartableNode]:
    node = RestartableNode(heap=os.environ.get("MARKETPLACE_FAULT_ES_HEAP", "384m"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def fault_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.cleanup()
