"""A live server for the contract tests: the app under uvicorn on a free port (a thread of the
test process, no Elasticsearch), its `/openapi.json` fetched over HTTP, and the npm tools of
`contract/` (installed by `scripts/dev setup` with `npm ci`)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from service.app import create_app
from tests.conftest import make_settings
from tests.services import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "contract"
BIN = CONTRACT / "node_modules" / ".bin"


def npm_tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run `scripts/dev setup` (npm ci in contract/)")
    return tool


def run(cmd: list[str | Path], cwd: Path = CONTRACT, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    }
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw
    )


# Package scope, and no background loops: Beanie binds its documents process-wide, so a loop
# of this server outliving the package ran against whatever database a later test had bound.
# Its booking sweeper expired the seeding test's requests (`test_invariants`, in CI).
@pytest.fixture(scope="package")
def live_url(redis_server: RedisServer) -> Iterator[str]:
    redis.Redis.from_url(redis_server.url).flushall()
    settings = make_settings(
        redis_server.url,
        None,
        rate_limit_enabled=False,
        run_booking_sweeper=False,
        run_alerts=False,
    )
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="contract-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="package")
def spec(live_url: str) -> dict[str, Any]:
    r = httpx.get(f"{live_url}/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="package")
def spec_file(spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contract") / "openapi.json"
    path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return path
