"""Child processes that cannot outlive the process that started them.

Elasticsearch nodes, the wire-protocol Mongo server and the test topology's workers are started
by `marketplace serve`, the benchmarks and the test fixtures. Context managers stop them on a
clean exit, but a parent killed by SIGKILL (or by a signal that a library re-raises after
restoring the default handler) never runs them. Linux's parent-death signal covers every case:
the kernel sends the child SIGKILL the moment its parent dies, however it dies.

`RUN_MARKER` is an environment variable that every child inherits, so `.ci/run` can find, and
fail on, anything still alive after the suite.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1
RUN_MARKER = "MARKETPLACE_RUN_ID"
# Set by `serve --workers N` for its uvicorn workers, which multiprocessing starts: they call
# `die_with_supervisor()` on import, since we cannot pass them a preexec_fn.
WORKER_PDEATHSIG = "MARKETPLACE_WORKER_PDEATHSIG"

_libc: Any = None


def _prctl() -> Any:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A `preexec_fn`: SIGKILL this child when `parent_pid` dies.

    It runs in the child after any uid change (Popen's `user=`), which matters: the kernel
    clears the parent-death signal when credentials change. If the parent already died between
    fork and here, exit at once instead of running as an orphan.
    """
    libc = _prctl()

    def _preexec() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return _preexec


def die_with_supervisor() -> None:
    """In a uvicorn worker of `serve --workers N`: end with the supervisor, however it dies."""
    if not os.environ.get(WORKER_PDEATHSIG):
        return
    libc = _prctl()
    parent = os.getppid()
    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent == 1 or os.getppid() != parent:
        os._exit(1)


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (or ours) plus the run marker, so a leftover child can be traced to its run."""
    out = dict(os.environ if env is None else env)
    if RUN_MARKER in os.environ:
        out.setdefault(RUN_MARKER, os.environ[RUN_MARKER])
    return out


def spawn(args: Sequence[str], *, env: Mapping[str, str] | None = None, **kw: Any) -> Any:
    """`subprocess.Popen` whose child dies with this process (and carries the run marker).

    The parent-death signal is tied to the thread that forks, so call this from a thread that
    lives as long as the child should (the main thread, in every caller here).
    """
    if "preexec_fn" in kw:
        raise TypeError("spawn sets preexec_fn itself")
    return subprocess.Popen(
        list(args), env=child_env(env), preexec_fn=die_with_parent(os.getpid()), **kw
    )
