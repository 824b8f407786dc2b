"""The production topology as separate OS processes, for tests/e2e/test_topology.py.

`Topology` runs the `marketplace` CLI (migrate, serve with N workers, the indexer, index
status/verify/rebuild) against a wire-protocol MongoDB server, a redis-server and an
Elasticsearch node, each its own process. Tests talk to it over HTTP and the CLI only: nothing
of the app runs in the test process. Every child is started with `spawn()`, so it dies with the
test process however that dies, and fixture finalizers stop it on a normal exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from service.localnode.children import spawn
from service.localnode.elasticsearch_node import ES_USER, LocalNode, find_java_home
from tests.conftest import listing_body
from tests.services import free_port

MARKETPLACE = Path(sys.executable).parent / "marketplace"
# What the service reads from the environment; the topology sets each one explicitly.
_SERVICE_ENV = re.compile(
    r"^(MONGODB_|REDIS_|ELASTICSEARCH_|INDEXER_|RATE_LIMIT|SEED_|RUN_|SESSION_|ARGON2_|LOG_|"
    r"WEBHOOK_|CURSOR_|BOOKING_|PAYMENT_)"
)
OK_WRITE = {200, 201, 204}


class Proc:
    """One child process with its combined output in a temporary file."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.args = list(args)
        fd, path = tempfile.mkstemp(prefix=f"marketplace-e2e-{name}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(path)
        with open(self.log_path, "ab") as out:
            self.popen: subprocess.Popen[bytes] = spawn(
                self.args, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} (pid {self.pid}) ---\n{self.output()[-chars:]}"

    def wait_for(self, pattern: str, timeout_s: float, *, start: int = 0) -> re.Match[str]:
        """The first match of `pattern` in the output after offset `start`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = regex.search(self.output(), start)
            if found:
                return found
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) before "
                    f"{pattern!r}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {pattern!r} in {timeout_s}s:\n{self.tail()}")
            time.sleep(0.1)

    async def await_for(self, pattern: str, timeout_s: float, *, start: int = 0) -> re.Match[str]:
        """`wait_for` that lets the event loop run (write load, searches) meanwhile."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            found = regex.search(self.output(), start)
            if found:
                return found
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) before "
                    f"{pattern!r}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {pattern!r} in {timeout_s}s:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no flush, no checkpoint, nothing runs."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=30)
        return self.popen.returncode

    def cleanup(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


@dataclass
class Drift:
    checked: int
    indexed: int
    missing: int
    extra: int
    stale: int
    returncode: int
    output: str

    @property
    def count(self) -> int:
        return self.missing + self.extra + self.stale


_DRIFT = re.compile(
    r"checked (\d+) searchable listings, (\d+) indexed: (\d+) missing, (\d+) extra, (\d+) stale"
)


def worker_pids(supervisor: int) -> list[int]:
    """The children of `serve --workers N` (uvicorn's worker processes)."""
    pids: list[int] = []
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(p) for p in (task / "children").read_text().split()]
    return sorted(pids)


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def established_on(port: int) -> set[str]:
    """Socket inodes of ESTABLISHED TCP connections whose local port is `port`."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                if cols[3] == "01" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(cols[9])
    return inodes


def connections_per_worker(supervisor: int, port: int) -> dict[int, int]:
    """How many client connections each worker process holds right now."""
    open_now = established_on(port)
    return {pid: len(_socket_inodes(pid) & open_now) for pid in worker_pids(supervisor)}


@dataclass
class Topology:
    """One deployment: its own database and index prefix on the given servers."""

    name: str
    mongo_url: str
    redis_url: str
    es_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    database: str = ""
    procs: list[Proc] = field(default_factory=list)
    api: Proc | None = None
    indexer: Proc | None = None
    base_url: str = ""

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.prefix = self.prefix or f"e2e{self.name}{tag}-"
        self.database = self.database or f"e2e_{self.name}_{tag}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not _SERVICE_ENV.match(k)}
        env.update(
            {
                "MONGODB_URL": self.mongo_url,
                "MONGODB_DATABASE": self.database,
                "REDIS_URL": self.redis_url,
                "ELASTICSEARCH_URL": self.es_url,
                "ELASTICSEARCH_INDEX_PREFIX": self.prefix,
                "WEBHOOK_SECRET": _SECRETS["webhook"],
                "CURSOR_SECRET": _SECRETS["cursor"],
                "SESSION_COOKIE_SECURE": "false",
                "ARGON2_TIME_COST": "1",
                "ARGON2_MEMORY_KIB": "64",
                "ARGON2_PARALLELISM": "1",
                "RATE_LIMIT_ENABLED": "false",
                "SEED_DEMO_LISTINGS": "0",
                "LOG_JSON": "false",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                **self.extra_env,
            }
        )
        return env

    # --- the CLI ---------------------------------------------------------------------------

    def start(self, name: str, *args: str) -> Proc:
        proc = Proc(f"{self.name}-{name}", [str(MARKETPLACE), *args], self.env)
        self.procs.append(proc)
        return proc

    def cli(self, *args: str, timeout_s: float = 240.0) -> tuple[int, str]:
        """Run one `marketplace` command to completion: (exit code, stdout+stderr)."""
        proc = self.start("-".join(args[:2]), *args)
        try:
            proc.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"`marketplace {' '.join(args)}` hung:\n{proc.tail()}") from None
        out = proc.output()
        self.procs.remove(proc)
        proc.cleanup()
        return proc.popen.returncode, out

    async def acli(self, *args: str, timeout_s: float = 240.0) -> tuple[int, str]:
        """`cli` that lets the event loop run meanwhile. The child is spawned from the loop's
        thread (the main one): its parent-death signal is tied to the thread that forked it."""
        proc = self.start("-".join(args[:2]), *args)
        deadline = time.monotonic() + timeout_s
        while proc.alive():
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"`marketplace {' '.join(args)}` hung:\n{proc.tail()}")
            await asyncio.sleep(0.1)
        out = proc.output()
        self.procs.remove(proc)
        proc.cleanup()
        return proc.popen.returncode, out

    def migrate(self) -> str:
        code, out = self.cli("migrate", "up")
        assert code == 0, out
        return out

    def serve(self, workers: int = 2, boot_timeout_s: float = 180.0) -> str:
        port = free_port()
        self.api = self.start("serve", "serve", "--workers", str(workers), "--port", str(port))
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + boot_timeout_s
        while True:
            assert self.api.alive(), f"serve exited early:\n{self.api.tail()}"
            try:
                r = httpx.get(f"{self.base_url}/readyz", timeout=5)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve not ready:\n{self.api.tail()}"
            time.sleep(0.3)
        if workers > 1:  # every worker must be up, not only the first to answer
            while len(worker_pids(self.api.pid)) < workers:
                assert time.monotonic() < deadline, f"workers missing:\n{self.api.tail()}"
                time.sleep(0.2)
        return self.base_url

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def start_indexer(self, timeout_s: float = 120.0) -> Proc:
        """`marketplace indexer run`, once it says it follows the change stream."""
        assert self.indexer is None or not self.indexer.alive()
        self.indexer = self.start("indexer", "indexer", "run")
        self.indexer.wait_for(r"indexer running \(ChangeStreamSource[;)]", timeout_s)
        out = self.indexer.output()
        assert "indexer source: changestream" in out, out
        return self.indexer

    async def astart_indexer(self, timeout_s: float = 120.0) -> Proc:
        assert self.indexer is None or not self.indexer.alive()
        self.indexer = self.start("indexer", "indexer", "run")
        await self.indexer.await_for(r"indexer running \(ChangeStreamSource[;)]", timeout_s)
        out = self.indexer.output()
        assert "indexer source: changestream" in out, out
        return self.indexer

    def status(self) -> dict[str, Any]:
        code, out = self.cli("index", "status")
        assert code == 0, out
        return json.loads(out[out.index("{") : out.rindex("}") + 1])

    def concrete_index(self) -> str:
        indexes = self.status()["indexes"]
        assert len(indexes) == 1, indexes
        return str(indexes[0])

    def verify(self) -> Drift:
        code, out = self.cli("index", "verify")
        found = _DRIFT.search(out)
        assert found, out
        checked, indexed, missing, extra, stale = (int(g) for g in found.groups())
        return Drift(checked, indexed, missing, extra, stale, code, out)

    # --- teardown --------------------------------------------------------------------------

    def stop(self) -> None:
        for proc in reversed(self.procs):
            # SIGINT for serve (as Ctrl-C); the indexer flushes on SIGTERM.
            proc.stop(signal.SIGINT if proc is self.api else signal.SIGTERM)
            if os.environ.get("MARKETPLACE_E2E_KEEP_LOGS"):
                print(f"kept {proc.name} log: {proc.log_path}")
            else:
                proc.log_path.unlink(missing_ok=True)
        self.procs.clear()
        es = Elasticsearch(self.es_url, request_timeout=30)
        try:
            names = es.indices.get(index=f"{self.prefix}*", allow_no_indices=True).body
            for name in names:
                es.indices.delete(index=name, ignore_unavailable=True)
        except Exception:  # best effort: the node may be gone already
            pass
        finally:
            es.close()


_SECRETS = {"webhook": secrets.token_urlsafe(48), "cursor": secrets.token_urlsafe(48)}


# --- HTTP helpers ------------------------------------------------------------------------------


def http_client(base_url: str, connections: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    # Never keep Set-Cookie: one client plays many users, and a login that presents another
    # user's session cookie replaces that session (tokens in headers are what we use).
    jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits, cookies=jar)


async def register(http: httpx.AsyncClient, role: str) -> dict[str, str]:
    """A new account with `role`; returns its Authorization header."""
    email = f"{role}{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery"
    r = await http.post(
        "/v1/auth/register",
        json={"email": email, "password": password, "display_name": "E2E", "roles": [role]},
    )
    assert r.status_code == 201, r.text
    r = await http.post("/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def in_city(city: str, **overrides: Any) -> dict[str, Any]:
    return listing_body(
        address={"line1": "Prinsengracht 1", "city": city, "country": "NL"}, **overrides
    )


async def create(
    http: httpx.AsyncClient, host: dict[str, str], *, publish: bool = True, **overrides: Any
) -> str:
    r = await http.post("/v1/listings", json=listing_body(**overrides), headers=host)
    assert r.status_code == 201, r.text
    lid = str(r.json()["id"])
    if publish:
        r = await http.post(f"/v1/listings/{lid}/publish", headers=host)
        assert r.status_code == 200, r.text
    return lid


async def search(http: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await http.get("/v1/search/listings", params={"limit": 100, **params})


async def search_ids(http: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, Any]]:
    r = await search(http, **params)
    assert r.status_code == 200, r.text
    return {h["id"]: h for h in r.json()["hits"]}


async def eventually(
    probe: Any, what: str, timeout_s: float = 90.0, interval_s: float = 0.1
) -> Any:
    """Await `probe()` until it returns something truthy (a bounded wait, not a timing claim)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout_s}s: {what} (last: {value!r})")
        await asyncio.sleep(interval_s)


async def sync_marker(http: httpx.AsyncClient, host: dict[str, str], timeout_s: float = 120) -> str:
    """Publish a marker listing after every other write and wait until search shows it: the
    change stream is ordered, so by then the indexer has acknowledged every earlier change."""
    city = f"Marker{uuid.uuid4().hex[:10]}"
    lid = await create(http, host, address={"line1": "x 1", "city": city, "country": "NL"})

    async def visible() -> bool:
        r = await search(http, city=city)
        return r.status_code == 200 and any(h["id"] == lid for h in r.json()["hits"])

    await eventually(visible, f"marker {lid} searchable", timeout_s)
    return lid


def future_day(days: int) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def future_hour(days: int, hour: int) -> datetime:
    d = future_day(days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def iso(value: date | datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# --- write load --------------------------------------------------------------------------------


@dataclass
class WriteLoad:
    """Mixed listing writes over HTTP at about `rate` per second until stopped: create+publish,
    price patches, close/re-publish and deletes, keeping some listings searchable."""

    http: httpx.AsyncClient
    host: dict[str, str]
    rate: float = 15.0
    seed: int = 1
    min_live: int = 5
    ops: int = 0
    failures: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> WriteLoad:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> int:
        self._stop.set()
        assert self._task is not None
        await self._task
        assert not self.failures, self.failures[:5]
        return self.ops

    async def _one(self, rng: random.Random, live: list[str], closed: set[str]) -> None:
        roll = rng.random()
        if roll < 0.2 or len(live) < self.min_live:
            lid = await create(self.http, self.host, title=f"load {self.ops}")
            live.append(lid)
            self.ops += 2
            return
        lid = rng.choice(live)
        open_ids = set(live) - closed - {lid}
        if roll < 0.7 or len(open_ids) < self.min_live:
            body = {"price": {"amount": rng.randint(1000, 90000), "currency": "EUR"}}
            r = await self.http.patch(f"/v1/listings/{lid}", json=body, headers=self.host)
        elif roll < 0.9:
            action = "publish" if lid in closed else "close"
            r = await self.http.post(f"/v1/listings/{lid}/{action}", headers=self.host)
            (closed.discard if action == "publish" else closed.add)(lid)
        else:
            r = await self.http.delete(f"/v1/listings/{lid}", headers=self.host)
            live.remove(lid)
            closed.discard(lid)
        self.ops += 1
        if r.status_code not in OK_WRITE:
            self.failures.append(
                f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
            )

    async def _run(self) -> None:
        rng = random.Random(self.seed)
        live: list[str] = []
        closed: set[str] = set()
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            await self._one(rng, live, closed)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


class PrivateNode(LocalNode):
    """An Elasticsearch node of this module's own, which a test may stop and start again on the
    same port with its data kept (never the session node). Unlike tests/faults' RestartableNode,
    the restarted JVM is started with `spawn()` too, so it also dies with the test process."""

    first_boot_s: float = 0.0

    def start(self, timeout_s: float = 240.0) -> PrivateNode:
        began = time.monotonic()
        super().start(timeout_s)
        self.first_boot_s = time.monotonic() - began
        assert self.process is not None
        self._args = [str(a) for a in self.process.args]  # type: ignore[union-attr]
        return self

    def kill(self) -> None:
        """SIGTERM the node's process group (SIGCONT first: a paused JVM ignores it)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def respawn(self) -> None:
        """Start the JVM again (returns at once; `await wait_up()` for green)."""
        assert self.workdir is not None and self.process is None
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(find_java_home()),
            "ES_PATH_CONF": str(self.workdir / "config"),
            "ES_TMPDIR": str(self.workdir / "tmp"),
            "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}",
            "LANG": "C.UTF-8",
        }
        with open(self.workdir / "stdout.log", "ab") as log_file:
            self.process = spawn(
                self._args,
                env=env,
                cwd=self.workdir,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=ES_USER if os.geteuid() == 0 else None,
            )

    async def wait_up(self, timeout_s: float = 240.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=5) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"Elasticsearch exited:\n{self.tail_log()}")
                try:
                    r = await http.get(
                        f"{self.url}/_cluster/health?wait_for_status=green&timeout=2s"
                    )
                    if r.status_code == 200 and r.json().get("status") == "green":
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"Elasticsearch not green:\n{self.tail_log()}")
                await asyncio.sleep(0.5)
