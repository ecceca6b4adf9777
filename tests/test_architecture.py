"""The shape of the code: imports point one way along the data flow, and an app writes another
app's tables only through that app's services. Read from the source (AST), nothing imported.

The order is written once, here (docs/adr/0009-app-layout-and-dependency-order.md explains it).
An app may import itself and the apps before it in ``LAYERS``; apps in one layer may not import
each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spmis"

LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("audit",),          # the log: every app records in it, it knows only core
    ("geography",),      # areas and population denominators
    ("access",),         # users, roles, scopes (area subtrees, schemes), approvals
    ("registry",),       # persons, households
    ("schemes",),        # schemes, enrolments
    ("payments",),       # benefit payments
    ("intake",),         # sources, submissions: loads registry, schemes and payments
    ("linkage",),        # identities, cross-checks: reads intake's authoritative sources
    ("indicators",),     # figures from everything above
    ("synth",),          # the synthetic country: generates data for every app
    ("web",),            # base layout, static assets, home dashboard
    ("cli",),            # the `spmis` command: the door to everything
]
RANK = {app: rank for rank, layer in enumerate(LAYERS) for app in layer}

# Calls that write rows. `.save()` on an instance cannot be told apart by reading; the rest can.
WRITES = {"create", "bulk_create", "bulk_update", "update_or_create", "get_or_create",
          "update", "delete"}
BULK_WRITES = {"upsert", "bulk_insert"}
# Loads a generated country into empty tables in one go, as a restore would.
MAY_WRITE_ANY_TABLE = {"synth"}


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if "migrations" in parts or len(parts) < 2:
            continue
        yield parts[0], path, ast.parse(path.read_text(), filename=str(path))


def _spmis_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("spmis."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("spmis."):
                yield node.lineno, node.module
            elif node.module == "spmis":
                for alias in node.names:
                    yield node.lineno, f"spmis.{alias.name}"


def test_every_app_has_a_place_in_the_order():
    apps = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert apps <= set(RANK), f"put {sorted(apps - set(RANK))} in LAYERS"


def test_imports_point_one_way_along_the_flow():
    wrong = []
    for app, path, tree in _modules():
        for line, module in _spmis_imports(tree):
            other = module.split(".")[1]
            if other != app and RANK.get(other, -1) >= RANK[app]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({app}) imports {module}")
    assert not wrong, "imports against the order:\n" + "\n".join(wrong)


def _model_names_from_other_apps(app: str, tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if len(parts) == 3 and parts[0] == "spmis" and parts[2] == "models" \
                    and parts[1] != app:
                for alias in node.names:
                    names[alias.asname or alias.name] = parts[1]
    return names


def _root_name(node: ast.AST) -> str | None:
    """``Person`` for ``Person.objects.filter(...).update``; None when not a manager chain."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr == "objects" and isinstance(node.value, ast.Name):
                return node.value.id
            node = node.value
        else:
            return None


def test_an_app_writes_another_apps_tables_only_through_its_services():
    wrong = []
    for app, path, tree in _modules():
        if app in MAY_WRITE_ANY_TABLE:
            continue
        foreign = _model_names_from_other_apps(app, tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            target = None
            if isinstance(func, ast.Attribute) and func.attr in WRITES:
                target = _root_name(func.value)
            elif isinstance(func, ast.Name) and func.id in BULK_WRITES and node.args \
                    and isinstance(node.args[0], ast.Name):
                target = node.args[0].id
            if target in foreign:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} ({app}) writes "
                             f"{foreign[target]}.{target}")
    assert not wrong, "writes outside the owning app's services:\n" + "\n".join(wrong)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The scanners themselves: a backward import and a foreign write are both seen."""
    tree = ast.parse("from spmis.indicators.models import IndicatorRun\n"
                     "from spmis.registry.models import Person\n"
                     "Person.objects.filter(id=1).update(given_name='x')\n"
                     "upsert(Person, frame)\n")
    assert [m for _, m in _spmis_imports(tree)] == ["spmis.indicators.models",
                                                    "spmis.registry.models"]
    foreign = _model_names_from_other_apps("schemes", tree)
    assert foreign == {"IndicatorRun": "indicators", "Person": "registry"}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "update"]
    assert _root_name(calls[0].func.value) == "Person"


def app_edges() -> set[tuple[str, str]]:
    """(app, app it imports), every module read."""
    return {(app, module.split(".")[1]) for app, _, tree in _modules()
            for _, module in _spmis_imports(tree) if module.split(".")[1] != app}


def test_the_drawing_in_the_adr_is_the_codes():
    """docs/adr/0009 draws the imports between apps; the drawing is kept true here.
    To redraw: python -c 'from tests.test_architecture import mermaid; print(mermaid())'."""
    adr = (ROOT / "docs" / "adr" / "0009-app-layout-and-dependency-order.md").read_text()
    assert mermaid() in adr


def mermaid() -> str:
    lines = ["```mermaid", "flowchart RL"]
    lines += [f"  {a} --> {b}" for a, b in sorted(app_edges(), key=lambda e: (RANK[e[0]],
                                                                             RANK[e[1]]))]
    return "\n".join([*lines, "```"]) + "\n"
