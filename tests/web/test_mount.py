"""`/app/` is static files of the API process, outside its schema, with the client's headers."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import WebFiles, web_csp
from service.core.config import Settings
from service.core.errors import install_error_handlers


def test_app_is_served_with_its_security_headers(web_url: str) -> None:
    r = httpx.get(f"{web_url}/app/", timeout=30)
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    assert '<script type="module" src="app.js">' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    bundle = httpx.get(f"{web_url}/app/app.js", timeout=30)
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]


def test_bare_path_redirects_relatively(web_url: str) -> None:
    r = httpx.get(f"{web_url}/app", headers={"Host": "evil.example"}, timeout=30)
    assert r.status_code == 308
    assert r.headers["location"] == "/app/"


def test_config_and_schema(web_url: str) -> None:
    config = httpx.get(f"{web_url}/app/config.json", timeout=30).json()
    assert config == {"tile_url": "", "tile_attribution": ""}
    paths = httpx.get(f"{web_url}/openapi.json", timeout=30).json()["paths"]
    assert not [p for p in paths if p.startswith("/app")]
    missing = httpx.get(f"{web_url}/app/nope.js", timeout=30)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_an_unbuilt_client_is_a_404_that_says_how_to_build_it(tmp_path: Path) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.mount("/app", WebFiles(tmp_path, "default-src 'self'"))
    with TestClient(app) as client:  # its own event loop, in a thread
        r = client.get("/app/")
    assert r.status_code == 404
    assert "scripts/dev setup" in r.json()["detail"]


def test_the_tile_server_is_allowed_by_the_policy() -> None:
    settings = Settings(web_tile_url="https://{s}.tiles.example/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://*.tiles.example;" in web_csp(settings)
    assert "img-src 'self' data:;" in web_csp(Settings())
