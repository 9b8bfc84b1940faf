"""The package's structure: layers and no import cycles (import-linter contracts in pyproject.toml), and no SQL
outside the store layer."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tracker"
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+"
                 r"(TABLE|INDEX|VIRTUAL|TRIGGER)|PRAGMA\s)", re.IGNORECASE | re.DOTALL)


def test_import_contracts_are_kept() -> None:
    """Layers (interface > evaluation > application > ingest > domain > store > records) and no cycles."""
    script = Path(sys.executable).with_name("lint-imports")
    command = [str(script)] if script.exists() else [sys.executable, "-c",
                                                      "import sys, importlinter.cli as c; sys.exit(c.lint_imports())"]
    result = subprocess.run([*command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def _strings_and_calls(path: Path) -> list[tuple[int, str]]:
    """String constants (f-string parts included) and ``.execute``-like calls of a module, with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {
                "execute", "executemany", "executescript"}:
            found.append((node.lineno, f".{node.func.attr}("))
    return found


def test_no_sql_outside_the_store_layer() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "store" in path.parents:
            continue
        for line, text in _strings_and_calls(path):
            if text.startswith(".execute") or SQL.search(text):
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}")
    assert not offenders, "SQL outside tracker/store:\n" + "\n".join(offenders)


def test_no_sql_in_the_dashboard() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "dashboards").rglob("*.py"))
                 for line, text in _strings_and_calls(path) if text.startswith(".execute") or SQL.search(text)]
    assert not offenders, offenders


def test_the_sql_detector_sees_sql() -> None:
    assert SQL.search("SELECT id FROM claims") and SQL.search("insert or ignore into meta(key) values (?)")
    assert not SQL.search("Select the claims to split off") and not SQL.search("update the store")
