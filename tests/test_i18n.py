"""The message catalogues (spmis/locale): every message of the source translated into French,
Spanish and Portuguese, placeholders kept, nothing fuzzy; the catalogues current with the
source (a new string without its translations fails here); the committed .mo files compiled
from the .po files beside them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "spmis" / "locale"
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
DOMAINS = ["django"]
# %(name)s, %s, %d and {name}: what Python or a template fills in. %% is a literal percent.
PLACEHOLDER = re.compile(r"%\([A-Za-z_0-9]+\)[sdifr]|%[sd]|\{[A-Za-z_0-9]*\}")


def catalogue(language: str, domain: str = "django") -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / f"{domain}.po"))


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def test_the_settings_offer_english_french_spanish_and_portuguese():
    assert [code for code, _ in settings.LANGUAGES] == ["en", "fr", "es", "pt"]
    assert settings.LOCALE_PATHS == [LOCALE]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(language):
    po = catalogue(language)
    assert po.metadata.get("Language") == language
    assert re.fullmatch(r"nplurals=2; plural=\(n (>|!=) 1\);", po.metadata["Plural-Forms"])
    problems = []
    for entry in po:
        if entry.obsolete:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        if entry.msgid_plural:
            forms = [entry.msgstr_plural.get(k, "") for k in (0, 1)]
            if not all(forms):
                problems.append(f"untranslated plural: {entry.msgid!r}")
            elif placeholders(forms[1]) != placeholders(entry.msgid_plural) or not set(
                    placeholders(forms[0])) <= set(placeholders(entry.msgid_plural)):
                problems.append(f"placeholders differ: {entry.msgid!r} -> {forms!r}")
        elif not entry.msgstr:
            problems.append(f"untranslated: {entry.msgid!r}")
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            problems.append(f"placeholders differ: {entry.msgid!r} -> {entry.msgstr!r}")
    assert not problems, f"{language}: {len(problems)} problems\n" + "\n".join(problems[:40])


def _source_messages(tmp_path: Path) -> set[tuple[str | None, str]]:
    """The messages makemessages finds in the source today, in a copy of the tree (the real
    catalogues are not touched)."""
    copy = tmp_path / "tree"
    skip = shutil.ignore_patterns("__pycache__", "locale", "*.pyc", "static")
    for part in ("spmis", "config"):
        shutil.copytree(ROOT / part, copy / part, ignore=skip)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "spmis" / "locale").mkdir()
    env = {**os.environ, "SPMIS_HOME": str(copy), "DJANGO_SETTINGS_MODULE": "config.settings.base",
           "SPMIS_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    done = subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "fr",
                           "--no-location"], cwd=copy, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fresh = polib.pofile(str(copy / "spmis" / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    return {(e.msgctxt, e.msgid) for e in fresh if not e.obsolete}


def test_the_catalogues_hold_every_message_of_the_source(tmp_path):
    source = _source_messages(tmp_path)
    assert len(source) > 500  # the walk found the templates and the Python files
    for language in LANGUAGES:
        held = {(e.msgctxt, e.msgid) for e in catalogue(language) if not e.obsolete}
        missing = sorted(m for _ctx, m in source - held)
        assert not missing, (
            f"{len(missing)} message(s) of the source are not in the {language} catalogue: "
            f"run `make messages` and translate them (README, Languages).\n" +
            "\n".join(repr(m) for m in missing[:40]))


def test_the_indicator_catalogue_texts_are_gathered_for_translation():
    from spmis.indicators.catalogue import messages
    from spmis.indicators.catalogue_messages import MESSAGES

    assert messages() == MESSAGES, (
        "spmis/indicators/catalogue_messages.py is not current with catalogue.yaml: run "
        "`make messages` and translate the new texts.")


def test_a_page_shows_the_indicator_catalogue_in_its_language():
    from django.utils import translation

    from spmis.indicators.catalogue import catalogue, shown

    with translation.override("pt"):
        english = {i.code: i.name for i in catalogue()}
        portuguese = {i.code: i.name for i in shown()}
    assert english["COV_ANY"] == "Persons covered by at least one scheme"  # stored, exported
    assert portuguese["COV_ANY"] != english["COV_ANY"]
    assert english.keys() == portuguese.keys()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_compiled_from_its_po(language):
    po = catalogue(language)
    mo = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))
    def table(entries) -> dict:
        return {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
                for e in entries if not e.obsolete and "fuzzy" not in e.flags}
    assert table(mo) == table(po), (
        f"spmis/locale/{language}/LC_MESSAGES/django.mo is not compiled from its .po: "
        "run `make messages` (or `make compile-messages`) and commit both.")
