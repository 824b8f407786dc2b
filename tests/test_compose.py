"""docker-compose.yml and the Dockerfile can't run here (no Docker engine); check that they are
consistent with each other and with the code: services, dependencies, health checks, volumes,
environment variables that Settings actually reads, and CLI commands that exist."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from service.core.config import Settings
from service.localnode.elasticsearch_node import ES_VERSION

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "api", "indexer")
LONG_RUNNING = ("mongo", "elasticsearch", "redis", "api", "indexer")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


def test_every_part_is_a_service(compose: dict[str, Any]) -> None:
    assert set(LONG_RUNNING) | set(APP_SERVICES) <= set(services(compose))


def test_dependencies_exist_and_wait_for_the_right_condition(compose: dict[str, Any]) -> None:
    svc = services(compose)
    for name, spec in svc.items():
        for dep, how in (spec.get("depends_on") or {}).items():
            assert dep in svc, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert how["condition"] == expected, (name, dep)
            if expected == "service_healthy":
                assert "test" in svc[dep]["healthcheck"], f"{dep} has no health check to wait on"
    for name in ("api", "indexer"):
        deps = svc[name]["depends_on"]
        assert {"migrate", "mongo", "elasticsearch", "redis"} <= set(deps)
    assert {"mongo", "elasticsearch"} <= set(svc["migrate"]["depends_on"])
    assert svc["migrate"]["restart"] == "no"


def test_long_running_services_have_health_checks(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = services(compose)[name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert not check.get("disable"), name


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for spec in services(compose).values():
        for mount in spec.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared
    svc = services(compose)
    assert any(v.endswith(":/data/db") for v in svc["mongo"]["volumes"])
    assert any(
        v.endswith(":/usr/share/elasticsearch/data") for v in svc["elasticsearch"]["volumes"]
    )
    assert any(v.endswith(":/data") for v in svc["redis"]["volumes"])


def test_mongo_is_a_one_node_replica_set_the_apps_connect_to(compose: dict[str, Any]) -> None:
    svc = services(compose)
    command = svc["mongo"]["command"]
    replset = command[command.index("--replSet") + 1]
    assert svc["mongo"]["image"].startswith("mongo:8")
    init = svc["mongo"]["healthcheck"]["test"][-1]
    assert f"_id: '{replset}'" in init and "host: 'mongo:27017'" in init
    assert "rs.initiate" in init and "isWritablePrimary" in init
    for name in APP_SERVICES:
        url = svc[name]["environment"]["MONGODB_URL"]
        assert url.startswith("mongodb://mongo:27017/") and f"replicaSet={replset}" in url


def test_elasticsearch_matches_the_version_the_tests_use(compose: dict[str, Any]) -> None:
    es = services(compose)["elasticsearch"]
    assert es["image"].rsplit(":", 1)[1] == ES_VERSION
    env = es["environment"]
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"
    assert re.search(r"-Xms(\d+[mg]) -Xmx\1", env["ES_JAVA_OPTS"])


def test_app_environment_is_what_settings_reads(compose: dict[str, Any]) -> None:
    fields = {name.upper() for name in Settings.model_fields}
    svc = services(compose)
    for name in APP_SERVICES:
        env = svc[name]["environment"]
        unknown = set(env) - fields
        assert not unknown, f"{name} sets variables Settings ignores: {unknown}"
        # The single node by default; ELASTICSEARCH_URL points the apps at the cluster profile.
        assert env["ELASTICSEARCH_URL"] == "${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert env["RUN_EMBEDDED_INDEXER"] == "false"
        # Secrets must be supplied, never defaulted in the file.
        for secret in ("WEBHOOK_SECRET", "CURSOR_SECRET"):
            assert env[secret].startswith(f"${{{secret}:?"), secret
        assert "SESSION_COOKIE_SECURE" in env
    # The values parse as Settings (with interpolation resolved the way compose would).
    resolved = {
        k.lower(): re.sub(r"\$\{(\w+):[-?]([^}]*)\}", lambda m: m.group(2) or "x", str(v))
        for k, v in svc["api"]["environment"].items()
    }
    settings = Settings(**resolved)
    assert not settings.embedded_mongo and not settings.embedded_redis
    assert settings.indexer_in_process is False


@pytest.mark.parametrize("service", ["migrate", "api", "indexer", "seed"])
def test_commands_exist_in_the_cli(compose: dict[str, Any], service: str) -> None:
    from service.cli import app

    command = services(compose)[service]["command"]
    assert command[0] == "marketplace"
    result = CliRunner().invoke(app, [*command[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_healthcheck_commands_exist_in_the_cli(compose: dict[str, Any]) -> None:
    from service.cli import app

    check = services(compose)["indexer"]["healthcheck"]["test"][-1]
    args = shlex.split(check.split(">")[0])
    assert args[0] == "marketplace"
    assert CliRunner().invoke(app, [*args[1:], "--help"]).exit_code == 0
    api_check = " ".join(services(compose)["api"]["healthcheck"]["test"])
    port = services(compose)["api"]["command"][-1]
    assert f"127.0.0.1:{port}/readyz" in api_check
    assert services(compose)["api"]["ports"] == [f"{port}:{port}"]


def test_dockerfile_builds_from_the_lock_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.lock" in text and "--constraint requirements.lock" in text
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    for package in packages:
        assert f"COPY {package.rstrip('*')} " in text, package
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0"))
    assert re.search(r"^FROM python:3\.11", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


CLUSTER = ("es01", "es02", "es03")


def test_cluster_profile_is_three_nodes_that_find_each_other(compose: dict[str, Any]) -> None:
    svc = services(compose)
    single = svc["elasticsearch"]
    for name in CLUSTER:
        node = svc[name]
        assert node["profiles"] == ["cluster"], name
        assert node["image"] == single["image"], name  # the version the tests use
        env = node["environment"]
        assert env["node.name"] == name
        assert "discovery.type" not in env  # single-node discovery would refuse to join
        assert set(env["discovery.seed_hosts"].split(",")) == set(CLUSTER) - {name}, name
        assert env["cluster.initial_master_nodes"].split(",") == list(CLUSTER)
        assert env["cluster.name"] == svc["es01"]["environment"]["cluster.name"]
        # Consistent with the single node: same security, memory lock, heap and limits.
        for key in ("xpack.security.enabled", "bootstrap.memory_lock", "ES_JAVA_OPTS"):
            assert env[key] == single["environment"][key], (name, key)
        assert node["ulimits"] == single["ulimits"], name
        assert "wait_for_nodes=3" in node["healthcheck"]["test"][-1], name
        assert node["volumes"] == [f"{name}-data:/usr/share/elasticsearch/data"]
    # A cluster of its own: it never merges with the single node.
    assert svc["es01"]["environment"]["cluster.name"] != single["environment"]["cluster.name"]
    # Not started by a plain `docker compose up`.
    assert all(svc[n].get("profiles") != ["cluster"] for n in LONG_RUNNING)


def test_cluster_layout_reaches_the_apps_as_settings(compose: dict[str, Any]) -> None:
    for service in APP_SERVICES:
        env = services(compose)[service]["environment"]
        assert env["SEARCH_INDEX_SHARDS"] == "${SEARCH_INDEX_SHARDS:-1}"
        assert env["SEARCH_INDEX_REPLICAS"] == "${SEARCH_INDEX_REPLICAS:-0}"
    header = (ROOT / "docker-compose.yml").read_text().split("\nname:", 1)[0]
    assert "--profile cluster" in header and "ELASTICSEARCH_URL=http://es01:9200" in header
