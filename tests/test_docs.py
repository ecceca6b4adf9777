"""What the README and docs promise, checked."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from config.env import SETTINGS_HELP
from spmis.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_gives_the_two_commands_first():
    setup = README[: README.index("## Usage")]
    assert re.findall(r"^make \w+$", setup, flags=re.M) == ["make demo", "make test"]


def test_makefile_and_ci_run_the_readme_commands():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_cli_command_is_documented_in_the_readme():
    for name in cli.commands:
        assert f"spmis {name}" in README, name
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_every_setting_is_documented():
    for name in SETTINGS_HELP:
        assert name in README, name


def test_glossary_and_first_adr_exist():
    glossary = (ROOT / "docs" / "CONTEXT.md").read_text()
    for word in ("person", "household", "scheme", "enrolment", "source", "guarantee"):
        assert word in glossary.lower()
    assert (ROOT / "docs" / "adr" / "0001-stack.md").exists()


def test_the_guide_lists_every_audit_action_as_the_catalogue_says():
    from spmis.audit.actions import actions_table

    guide = (ROOT / "docs" / "guide" / "access-and-audit.md").read_text()
    assert actions_table() in guide + "\n"
