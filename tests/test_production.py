"""Production settings serve hashed, compressed static files that `spmis collectstatic` writes:
`spmis serve` refuses to start without them (rather than answer 500 on every page), and
starts and serves the pages and their static files once they are collected."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.test import override_settings

from spmis.cli.main import cli
from spmis.web.staticfiles import static_files_problem

MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_the_base_settings_need_no_collectstatic():
    assert static_files_problem() is None


@pytest.mark.django_db
def test_serve_refuses_until_the_static_files_are_collected(tmp_path, monkeypatch):
    started: list[dict[str, object]] = []
    monkeypatch.setattr("waitress.serve", lambda app, **kwargs: started.append(kwargs))
    serve = ["serve", "--port", "8123", "--trusted-proxy", "127.0.0.1"]
    with override_settings(STORAGES=MANIFEST_STORAGES, STATIC_ROOT=tmp_path / "static",
                           SPMIS_AUDIT_CHECKPOINT_MINUTES=0):
        refused = CliRunner().invoke(cli, serve)
        assert refused.exit_code == 1 and not started
        assert "static files are not collected" in refused.output
        assert "spmis collectstatic" in refused.output

        collected = CliRunner().invoke(cli, ["collectstatic"])
        assert collected.exit_code == 0, collected.output
        assert static_files_problem() is None
        done = CliRunner().invoke(cli, serve)
        assert done.exit_code == 0, done.output
        assert started and started[0]["port"] == 8123
        assert started[0]["trusted_proxy"] == "127.0.0.1"

        late = tmp_path / "late"  # a static file added after the last collectstatic
        late.mkdir()
        (late / "late.css").write_text("body {}")
        with override_settings(STATICFILES_DIRS=[late]):
            stale = CliRunner().invoke(cli, serve)
        assert stale.exit_code == 1 and len(started) == 1
        assert "1 static file(s) are not in the last collectstatic (e.g. late.css)" in stale.output


def test_collectstatic_under_the_base_settings_says_there_is_nothing_to_collect():
    done = CliRunner().invoke(cli, ["collectstatic"])
    assert done.exit_code == 1 and "Nothing to collect" in done.output


def _spmis(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SPMIS_HOME": str(home), "SPMIS_DATABASE_URL": f"sqlite:///{home}/p.db",
           "DJANGO_SETTINGS_MODULE": "config.settings.production",
           "SPMIS_SECRET_KEY": "production-test-" + "k" * 50,
           "SPMIS_AUDIT_CHECKPOINT_MINUTES": "0"}
    env.pop("SPMIS_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "spmis.cli.main", *args], env=env,
                            cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(args: list[str], home: Path) -> tuple[int, str]:
    process = _spmis(args, home)
    out, err = process.communicate(timeout=300)
    return process.returncode, out + err


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_production_serve_refuses_then_serves_after_collectstatic(tmp_path):
    assert _run(["migrate"], tmp_path)[0] == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = ["serve", "--port", str(port), "--trusted-proxy", "127.0.0.1"]

    code, output = _run(serve, tmp_path)
    assert code == 1 and "Traceback" not in output
    assert "static files are not collected" in output and "spmis collectstatic" in output

    code, output = _run(["collectstatic"], tmp_path)
    assert code == 0, output
    assert (tmp_path / "var" / "static" / "staticfiles.json").exists()

    server = _spmis(serve, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = _get(f"{base}/login/")
                break
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "spmis serve did not answer in 60 s"
                time.sleep(0.5)
        assert status == 200
        css = re.search(r'href="(/static/spmis/spmis\.[0-9a-f]{12}\.css)"', page)
        assert css, "the page links the hashed stylesheet"
        assert _get(base + css.group(1))[0] == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)
