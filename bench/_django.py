"""Shared start of the benchmarks that need the database: settings from a URL (default a
fresh SQLite file in a temporary folder), Django set up, migrations applied."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup(database_url: str | None) -> tempfile.TemporaryDirectory[str]:
    """Returns the temporary folder (keep it alive for the benchmark's duration)."""
    tmp = tempfile.TemporaryDirectory()
    os.environ["SPMIS_DATABASE_URL"] = database_url or f"sqlite:///{tmp.name}/bench.db"
    os.environ["SPMIS_AUDIT_KEY_FILE"] = f"{tmp.name}/audit.pem"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return tmp
