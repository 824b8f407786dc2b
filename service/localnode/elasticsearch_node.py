"""A throwaway local Elasticsearch node for the embedded default and the test suite.

The `integ-test-zip` distribution on Maven Central is a real server (transport, x-pack core)
without analysis-common, mapper-extras or painless; our mapping sticks to what it has. It is
fetched with Maven, cached outside the repo, and run as an unprivileged user because
Elasticsearch refuses to start as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from service.localnode.children import spawn

log = logging.getLogger(__name__)

ES_VERSION = os.environ.get("MARKETPLACE_ES_VERSION", "9.5.0")
ES_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
ES_USER = "marketplace-es"
MIN_JAVA = 21  # Elasticsearch 9 needs Java 21+


class NodeError(RuntimeError):
    pass


def cache_dir() -> Path:
    if env := os.environ.get("MARKETPLACE_CACHE_DIR"):
        return Path(env)
    # Root's home is not traversable by the unprivileged user that runs the node.
    if os.geteuid() == 0:
        return Path("/var/cache/marketplace")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "marketplace"


@contextlib.contextmanager
def _file_lock(path: Path):  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_distribution(version: str = ES_VERSION) -> Path:
    """Download (once) and unpack the distribution; returns its home directory."""
    root = cache_dir()
    home = root / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    with _file_lock(root / f".elasticsearch-{version}.lock"):
        if (home / "bin" / "elasticsearch").exists():
            return home
        archive = root / f"elasticsearch-{version}.zip"
        if not archive.exists():
            if shutil.which("mvn") is None:
                raise NodeError(
                    "Maven (mvn) is needed to fetch Elasticsearch; apt-get install maven"
                )
            log.info("fetching Elasticsearch %s with Maven", version)
            subprocess.run(
                [
                    "mvn",
                    "-q",
                    "-B",
                    "dependency:copy",
                    f"-Dartifact={ES_ARTIFACT.format(version=version)}",
                    f"-DoutputDirectory={root}",
                ],
                check=True,
                cwd=root,
            )
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                target = zf.extract(info, staging)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(target, mode)
        (staging / f"elasticsearch-{version}").rename(home)
        staging.rmdir()
        root.chmod(0o755)
    return home


def _java_major(java: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else None


def _has_vector_module(java: Path) -> bool:
    out = subprocess.run(
        [str(java), "--list-modules"], capture_output=True, text=True, timeout=30
    ).stdout
    return "jdk.incubator.vector" in out


def find_java_home() -> Path:
    """The newest JDK >= 21 with jdk.incubator.vector (Elasticsearch 9 asks for it)."""
    candidates: list[Path] = []
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    jvm_root = Path("/usr/lib/jvm")
    if jvm_root.is_dir():
        candidates += sorted(p for p in jvm_root.iterdir() if p.is_dir() and not p.is_symlink())
    best: tuple[int, Path] | None = None
    for home in candidates:
        java = home / "bin" / "java"
        if not java.exists():
            continue
        major = _java_major(java)
        if major is None or major < MIN_JAVA or not _has_vector_module(java):
            continue
        if best is None or major > best[0]:
            best = (major, home)
    if best is None:
        raise NodeError(
            f"no JDK >= {MIN_JAVA} with jdk.incubator.vector found (set ES_JAVA_HOME); "
            "Elasticsearch 9 does not run on Java 17"
        )
    return best[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_user() -> None:
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            check=True,
        )


def _chown_tree(path: Path, user: str) -> None:
    subprocess.run(["chown", "-R", f"{user}:", str(path)], check=True)


class LocalNode:
    """One single-node cluster on 127.0.0.1, security off; `with LocalNode() as node: node.url`.

    With `seed_hosts`/`initial_masters` it is instead one node of a loopback cluster: start
    each with `start(wait=False)`, then `wait_ready(nodes=n)` on any of them (the first master
    election needs the initial masters up together, so none can wait alone)."""

    def __init__(
        self,
        heap: str | None = None,
        port: int | None = None,
        data_dir: Path | None = None,
        *,
        node_name: str | None = None,
        seed_hosts: Sequence[str] = (),
        initial_masters: Sequence[str] = (),
        roles: Sequence[str] | None = None,
        cluster_name: str = "marketplace-local",
    ) -> None:
        self.heap = heap or os.environ.get("MARKETPLACE_ES_HEAP", "1g")
        self.port = port or _free_port()
        self.transport_port = _free_port()
        self.node_name = node_name
        self.seed_hosts = list(seed_hosts)
        self.initial_masters = list(initial_masters)
        self.roles = None if roles is None else list(roles)
        self.cluster_name = cluster_name
        # Default: the data lives in the throwaway work dir. Given, it is kept across restarts
        # (`scripts/dev stack`); its parents must be traversable by the node's user.
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def transport_address(self) -> str:
        """What other nodes list in their `seed_hosts`."""
        return f"127.0.0.1:{self.transport_port}"

    def _discovery(self) -> list[str]:
        if not self.seed_hosts and not self.initial_masters:
            return ["discovery.type=single-node"]
        out = [f"discovery.seed_hosts={','.join(self.seed_hosts) or self.transport_address}"]
        if self.initial_masters:
            out.append(f"cluster.initial_master_nodes={','.join(self.initial_masters)}")
        if self.node_name:
            out.append(f"node.name={self.node_name}")
        if self.roles is not None:
            out.append(f"node.roles=[{','.join(self.roles)}]")
        return out

    def start(self, timeout_s: float = 180.0, *, wait: bool = True) -> LocalNode:
        home = ensure_distribution()
        java_home = find_java_home()
        self.workdir = Path(tempfile.mkdtemp(prefix="marketplace-es-"))
        conf = self.workdir / "config"
        shutil.copytree(home / "config", conf)
        for sub in ("data", "logs", "tmp"):
            (self.workdir / sub).mkdir()
        data = self.workdir / "data"
        if self.data_dir is not None:
            data = self.data_dir
            data.mkdir(parents=True, exist_ok=True)
        as_root = os.geteuid() == 0
        if as_root:
            _ensure_user()
            _chown_tree(self.workdir, ES_USER)
            os.chmod(self.workdir, 0o755)
            if self.data_dir is not None:
                _chown_tree(data, ES_USER)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
            "LANG": "C.UTF-8",
        }
        args = [
            str(home / "bin" / "elasticsearch"),
            *(arg for setting in self._discovery() for arg in ("-E", setting)),
            "-E",
            "xpack.security.enabled=false",
            "-E",
            "network.host=127.0.0.1",
            "-E",
            f"http.port={self.port}",
            "-E",
            f"transport.port={self.transport_port}",
            "-E",
            f"path.data={data}",
            "-E",
            f"path.logs={self.workdir / 'logs'}",
            # Small disks must not flip the node read-only in the middle of a test run.
            "-E",
            "cluster.routing.allocation.disk.threshold_enabled=false",
            "-E",
            f"cluster.name={self.cluster_name}",
        ]
        log_file = open(self.workdir / "stdout.log", "wb")  # noqa: SIM115 - lives with the node
        # Dies with us even when we are SIGKILLed; the server JVM exits when its launcher does.
        self.process = spawn(
            args,
            env=env,
            cwd=self.workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=ES_USER if as_root else None,
        )
        if wait:
            self._wait_green(timeout_s)
        return self

    def wait_ready(self, *, nodes: int = 1, timeout_s: float = 180.0) -> None:
        """Until the cluster is green with `nodes` nodes (stops this node on timeout)."""
        self._wait_green(timeout_s, nodes=nodes)

    def _wait_green(self, timeout_s: float, nodes: int = 1) -> None:
        deadline = time.monotonic() + timeout_s
        query = f"wait_for_status=green&wait_for_nodes={nodes}&timeout=2s"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise NodeError(f"Elasticsearch exited early:\n{self.tail_log()}")
            try:
                with urllib.request.urlopen(
                    f"{self.url}/_cluster/health?{query}", timeout=5
                ) as resp:
                    health = json.load(resp)
                    if health.get("status") == "green" and health["number_of_nodes"] == nodes:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise NodeError(f"Elasticsearch not green after {timeout_s:.0f}s")

    def tail_log(self, lines: int = 40) -> str:
        if self.workdir is None:
            return ""
        path = self.workdir / "stdout.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def pause(self) -> None:
        """SIGSTOP the JVM: the node stops answering but keeps its data (fault tests)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGCONT)
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> LocalNode:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
