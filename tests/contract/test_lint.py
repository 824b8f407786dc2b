"""Redocly (`lint --extends recommended`) and Spectral (`spectral:oas`) find no error in the
live /openapi.json. Warnings are allowed but bounded, so a new one is a conscious choice."""

from __future__ import annotations

import json
from pathlib import Path

from tests.contract.conftest import CONTRACT, npm_tool, run


def test_redocly_recommended_has_no_errors(spec_file: Path) -> None:
    result = run(
        [
            npm_tool("redocly"),
            "lint",
            "--extends",
            "recommended",
            "--config",
            CONTRACT / "redocly.yaml",
            "--format",
            "json",
            spec_file,
        ]
    )
    report = json.loads(result.stdout)
    problems = report["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    warnings = [p for p in problems if p["severity"] == "warn"]
    assert not errors, json.dumps(errors[:5], indent=1)
    assert len(warnings) == 0, json.dumps(warnings[:5], indent=1)
    assert result.returncode == 0, result.stderr


def test_spectral_oas_has_no_errors(spec_file: Path) -> None:
    result = run(
        [
            npm_tool("spectral"),
            "lint",
            "--ruleset",
            CONTRACT / ".spectral.yaml",
            "--format",
            "json",
            "--quiet",
            spec_file,
        ]
    )
    start = result.stdout.find("[")
    results = json.loads(result.stdout[start:]) if start >= 0 else []
    errors = [r for r in results if r["severity"] == 0]
    warnings = [r for r in results if r["severity"] == 1]
    assert not errors, json.dumps(errors[:5], indent=1)
    assert len(warnings) == 0, json.dumps(warnings[:5], indent=1)
