"""A plain ``pip install spmis`` (no extras) must run: every package the code imports is a
declared runtime dependency, and optional backends say which extra to install.
(`make plain-install-check` proves it end to end in a fresh virtualenv.)"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

from spmis.linkage import engine

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as ``psycopg[binary]>=3.1``."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _runtime_imports(tree: ast.AST) -> set[str]:
    """Top-level modules imported outside ``if TYPE_CHECKING:`` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_every_imported_package_is_a_runtime_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared: dict[str, set[str]] = {}
    for top in ("spmis", "config"):
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for module in _runtime_imports(tree):
                if module in sys.stdlib_module_names or module in ("spmis", "config"):
                    continue
                names = {_name(d) for d in distributions.get(module, [module])}
                if not names & declared:
                    undeclared.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    assert not undeclared, (
        "imported at run time but not in [project] dependencies (a plain install lacks "
        f"them; declare them, or import them lazily with a message naming the extra): "
        f"{undeclared}")


def test_the_dev_extra_includes_the_spark_extra() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert any(_name(r) == "pyspark" for r in extras["spark"])
    assert "spmis[spark]" in extras["dev"]


def test_linkage_on_spark_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_pyspark(name: str, package: str | None = None) -> object:
        return None if name == "pyspark" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_pyspark)
    prepared = engine.prepare(pl.DataFrame({
        "id": ["1", "2"], "given_name": ["Ann", "Ann"], "surname": ["Lee", "Lee"],
        "date_of_birth": ["1980-01-02", "1980-01-02"], "sex": ["F", "F"], "area": ["A", "A"]}))
    with pytest.raises(ImportError, match=re.escape("pip install 'spmis[spark]'")):
        engine.score(prepared, {}, spark=object())


def test_ci_proves_a_plain_install() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^plain-install-check:", makefile, re.M)
    assert "make plain-install-check" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    check = (ROOT / ".ci" / "plain-install-check").read_text(encoding="utf-8")
    assert re.search(r"pip\"? install( --[\w-]+)* \.\)?$", check, re.M)  # no [extras]
    assert "--no-serve" in check and "linkage run" in check
