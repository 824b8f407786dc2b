"""Clients generated from the live /openapi.json: Python (openapi-python-client, no warning) and
TypeScript (openapi-typescript types compiled by tsc over a typed usage file; a negative file
with deliberate misuses must fail to compile, each marked line with an error)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.contract.conftest import CONTRACT, ROOT, npm_tool, run


def test_python_client_generates_without_warnings(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "python"
    result = run(
        [
            ROOT / ".venv" / "bin" / "openapi-python-client",
            "generate",
            "--path",
            spec_file,
            "--output-path",
            out,
        ],
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    package = next(out.glob("*/api"))
    # Errors are typed: an error answer parses into the Problem model.
    cancel = (package / "bookings" / "cancel_booking.py").read_text(encoding="utf-8")
    assert "Problem.from_dict" in cancel and "response.status_code == 409" in cancel
    assert (package.parent / "models" / "search_sort.py").exists()


def _typescript_project(spec_file: Path, tmp_path: Path) -> Path:
    project = tmp_path / "ts"
    project.mkdir()
    for name in ("usage.ts", "negative.ts", "tsconfig.json", "tsconfig.negative.json"):
        shutil.copy(CONTRACT / name, project / name)
    (project / "node_modules").symlink_to(CONTRACT / "node_modules", target_is_directory=True)
    result = run([npm_tool("openapi-typescript"), spec_file, "-o", project / "schema.d.ts"])
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def test_typescript_types_compile_and_misuse_does_not(spec_file: Path, tmp_path: Path) -> None:
    project = _typescript_project(spec_file, tmp_path)
    tsc = npm_tool("tsc")
    ok = run([tsc, "-p", project / "tsconfig.json"], cwd=project)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    bad = run([tsc, "-p", project / "tsconfig.negative.json"], cwd=project)
    assert bad.returncode != 0, "negative.ts compiled: the generated types are too loose"
    lines = (project / "negative.ts").read_text(encoding="utf-8").splitlines()
    expected = {i + 2 for i, line in enumerate(lines) if line.strip().startswith("// ERROR")}
    failing = {int(n) for n in re.findall(r"negative\.ts\((\d+),\d+\): error", bad.stdout)}
    assert len(expected) == 5
    assert expected <= failing, (sorted(expected - failing), bad.stdout)
