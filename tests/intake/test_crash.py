"""kill -9 of the loader mid-submission leaves no partial submission; running it again loads."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

MAPPING = """
version: 1
source: MSW_MIS
record: beneficiary
fields:
  person_ref: {from: id}
  given_name: {from: first}
  family_name: {from: last}
  sex: {from: sex}
  date_of_birth: {from: dob, date_format: "%Y-%m-%d"}
  area: {from: area}
  scheme: {constant: CHILD_GRANT}
"""


def spmis(args, env, **kw):
    return subprocess.run([sys.executable, "-m", "spmis.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=600, **kw)


@pytest.mark.slow
def test_kill_during_load_leaves_nothing_half_loaded(tmp_path):
    db = tmp_path / "crash.db"
    env = {**os.environ, "SPMIS_DATABASE_URL": f"sqlite:///{db}", "SPMIS_HOME": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    assert spmis(["migrate"], env).returncode == 0
    assert spmis(["synth", "--persons", "300", "--seed", "2"], env).returncode == 0
    (tmp_path / "map.yaml").write_text(MAPPING)
    assert spmis(["intake", "mapping", "save", "--source", "MSW_MIS",
                  str(tmp_path / "map.yaml")], env).returncode == 0
    area = sqlite3.connect(db).execute(
        "SELECT code FROM geography_area WHERE level = 3 LIMIT 1").fetchone()[0]
    rows = ["id,first,last,sex,dob,area"] + [
        f"K{i},Ana,Lee,F,2012-01-{1 + i % 28:02d},{area}" for i in range(150_000)]
    data = tmp_path / "big.csv"
    data.write_text("\n".join(rows) + "\n")
    submit = ["intake", "submit", "--source", "MSW_MIS", "--period", "2026-05", str(data)]

    def state():
        con = sqlite3.connect(db)
        subs = con.execute("SELECT status, rows_loaded FROM intake_submission").fetchall()
        persons = con.execute("SELECT COUNT(*) FROM registry_person WHERE source_ref LIKE 'K%'"
                              ).fetchone()[0]
        con.close()
        return subs, persons

    for delay in (0.5, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-m", "spmis.cli.main", *submit], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        subs, persons = state()
        # All or nothing: either no trace, or a complete load.
        assert (subs, persons) == ([], 0) or (subs == [("LOADED", 150_000)]
                                              and persons == 150_000), (delay, subs, persons)
        if subs:
            break
    done = spmis(submit, env)
    assert done.returncode == 0, done.stderr
    assert state() == ([("LOADED", 150_000)], 150_000)
