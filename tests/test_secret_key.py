"""Production settings refuse the development secret key published with the source code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.settings import base

ROOT = Path(__file__).resolve().parents[1]


def _spmis_under_production(key: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "SPMIS_SECRET_KEY": key, "SPMIS_HOME": str(home),
           "SPMIS_DATABASE_URL": f"sqlite:///{home}/p.db"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run([sys.executable, "-m", "spmis.cli.main", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_development_key_is_refused_with_a_clear_message(tmp_path):
    assert base.SECRET_KEY == base.DEVELOPMENT_SECRET_KEY or os.environ.get("SPMIS_SECRET_KEY")
    assert len(base.DEVELOPMENT_SECRET_KEY) >= 50  # so only this check stops it
    run = _spmis_under_production(base.DEVELOPMENT_SECRET_KEY, tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "SPMIS_SECRET_KEY is the development key published with spmis's source code" \
        in run.stderr
    short = _spmis_under_production("too-short", tmp_path)
    assert short.returncode == 1 and "at least 50 random characters" in short.stderr
