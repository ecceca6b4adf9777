"""The test suite's own rule: no test module (nor conftest) is imported by another module.
Shared fixtures go in a ``conftest.py``, shared helpers in a helper module such as
``tests/helpers.py``, ``tests/factories.py`` or ``tests/intake/helpers.py``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_no_module_imports_a_test_module_or_a_conftest():
    offences = {f"{path.relative_to(TESTS.parent)}: {name}"
                for path in TESTS.rglob("*.py") for name in _imports(path)
                if _is_test_module(name)}
    assert not offences, sorted(offences)


def test_the_rule_sees_both_forms_of_import(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text("from tests.test_web import logged_in\n"
                      "from tests.intake import test_submissions as ts\n"
                      "import tests.conftest\n"
                      "from tests.helpers import logged_in\n", encoding="utf-8")
    assert [n for n in _imports(module) if _is_test_module(n)] == [
        "tests.test_web", "tests.intake.test_submissions", "tests.conftest"]
