"""The linkage model on files nobody tuned it for: it never crashes for want of training
signal, links identical records, and knows people (IDs, placeholders, twins, parents and
children, moves, near-miss dates, nicknames, swaps), through `spmis linkage dedupe` and
`spmis linkage run`."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from spmis.cli.main import cli
from spmis.linkage import engine

ROOT = Path(__file__).resolve().parents[1]
PERSON = {"given_name": "Amina", "surname": "Diallo", "date_of_birth": "1980-04-03",
          "sex": "F", "area": "X1", "address": "12 Baobab Street"}
# Made-up names, many of them (as in a real file, most pairs of people differ in name).
GIVEN = [a + b for a in ("Ko", "Ama", "Ya", "Abe", "Kwa", "Ako", "Esi", "Ad", "Fii", "Mo",
                         "Ze", "Ta") for b in ("fi", "na", "wo", "be", "mel", "sua", "ri")]
SURNAMES = [a + b for a in ("Men", "Ow", "As", "Bo", "Os", "Ap", "Ad", "Dar", "Kuf", "Ny")
            for b in ("sah", "usu", "ante", "teng", "ei", "piah", "do", "ko")]
STREETS = ["Market Road", "Palm Avenue", "Church Street", "Station Lane", "Hill Close",
           "River Road", "Mango Street"]


def people(n: int, *, ids: bool = True, dates: bool = True) -> list[dict[str, str]]:
    """n different people (no two alike), deterministic."""
    rows = []
    for i in range(n):
        row = {"id": f"p{i}", "given_name": GIVEN[(7 * i) % len(GIVEN)],
               "surname": SURNAMES[(11 * i) % len(SURNAMES)],
               "date_of_birth": f"{1950 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}"
               if dates else "", "sex": "MF"[i % 2], "area": f"A{i % 7}",
               "address": f"{3 + 7 * i} {STREETS[i % len(STREETS)]}"}
        if ids:
            row["national_id"] = str(100_000_000 + 7919 * i)
        rows.append(row)
    return rows


def dedupe(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[pl.DataFrame, str]:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    pl.DataFrame(rows).write_csv(source)
    out = CliRunner().invoke(cli, ["linkage", "dedupe", "--input", str(source), "--output",
                                   str(target)])
    assert out.exit_code == 0, out.output
    pairs = pl.read_csv(target, schema_overrides={"id_l": pl.String, "id_r": pl.String})
    return pairs, out.output


def linked(pairs: pl.DataFrame, a: str, b: str) -> bool:
    low, high = sorted((a, b))
    return pairs.filter(pl.col("id_l") == low, pl.col("id_r") == high).height == 1


@pytest.mark.django_db
def test_a_fresh_small_country_links_without_a_traceback():
    made = CliRunner().invoke(cli, ["synth", "--persons", "2000"])
    assert made.exit_code == 0, made.output
    out = CliRunner().invoke(cli, ["linkage", "run"])
    assert out.exit_code == 0, out.output
    assert "too few pairs to learn from" in out.output  # no national ID repeats
    assert "model v1" in out.output


@pytest.mark.parametrize("ids,dates", [(True, True), (False, False)])
def test_dedupe_of_a_file_without_duplicates_uses_the_default_m_values(tmp_path, ids, dates):
    # Sixty different people: no ID repeats (or none at all), no usable dates.
    pairs, output = dedupe(tmp_path, people(60, ids=ids, dates=dates))
    assert pairs.height == 0
    if ids:  # nothing repeats: EM has no pair to learn from
        assert "too few pairs to learn from" in output and "default values" in output


@settings(max_examples=4, deadline=None)
@given(n=st.integers(2, 49), with_id=st.booleans())
def test_identical_records_always_link(tmp_path_factory, n, with_id):
    person = {**PERSON, **({"national_id": "A1234567"} if with_id else {})}
    rows = [{**person, "id": str(i)} for i in range(n)] + people(8)
    pairs, _ = dedupe(tmp_path_factory.mktemp("same"), rows)
    identical = pairs.filter(~pl.col("id_l").str.starts_with("p"))
    assert identical.height == n * (n - 1) // 2
    assert (identical["match_probability"] >= 0.5).all()


def model_of(rows: list[dict[str, str]]) -> dict:
    return engine.train(engine.prepare(pl.DataFrame(rows)))


def weight(model: dict, column: str, label: str) -> float:
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] == column:
            for level in comparison["comparison_levels"]:
                if level.get("label_for_charts") == label:
                    return math.log2(level["m_probability"] / level["u_probability"])
    raise KeyError(label)


def test_weights_follow_what_tells_people_apart():
    model = model_of(people(300))
    # Two different valid IDs: strong evidence of two people; one typo is not.
    assert weight(model, "national_id", "different") <= -8
    assert weight(model, "national_id", "typo") > weight(model, "national_id", "different") + 4
    # People move: another area is weak evidence, not a veto.
    assert -4 < weight(model, "residence", "moved") < 0
    # A near-miss date scores between the exact date and a different one.
    exact = weight(model, "date_of_birth", "Exact match on date_of_birth")
    near = weight(model, "date_of_birth",
                  "near miss: one digit, day and month swapped, one year off")
    apart = weight(model, "date_of_birth", "under 12 years apart")
    assert exact > near > apart


def test_placeholder_and_shared_ids_count_as_missing_and_are_reported(tmp_path):
    rows = people(40)
    for i, row in enumerate(rows[:20]):  # twenty different people with a placeholder
        row["national_id"] = ["0", "000000", "999999999", "N/A", "unknown"][i % 5]
    for row in rows[20:26]:  # six different people carry one office's number
        row["national_id"] = "555123"
    pairs, output = dedupe(tmp_path, rows)
    assert pairs.height == 0
    assert "20 placeholder(s), 1 ID(s) shared by several people on 6 record(s)" in output


def test_placeholder_ids_are_configurable(monkeypatch):
    monkeypatch.setenv(engine.PLACEHOLDER_ENV, "SIN-CEDULA, 12-34")
    listed = engine.placeholder_ids(["pending id"])
    assert {"sin cedula", "12 34", "pending id", "n a", "unknown"} <= listed


def test_people_the_model_must_tell_apart_and_records_it_must_join(tmp_path):
    rows = people(120)
    home = {"surname": "Nguyen", "area": "H1", "address": "4 River Lane"}
    rows += [
        # Twins: one birth date, one home, two given names (each with an ID of their own).
        {**home, "id": "t1", "given_name": "Minh", "date_of_birth": "2010-05-04", "sex": "M",
         "national_id": "310000001"},
        {**home, "id": "t2", "given_name": "Thao", "date_of_birth": "2010-05-04", "sex": "F",
         "national_id": "310000002"},
        # Father and son of one name in one home, with their IDs.
        {**home, "id": "f1", "given_name": "Van An", "date_of_birth": "1975-02-11",
         "sex": "M", "national_id": "310000003"},
        {**home, "id": "f2", "given_name": "Van An", "date_of_birth": "2001-09-30",
         "sex": "M", "national_id": "310000004"},
        # One woman, recorded twice: nickname, accents, day and month swapped, moved, no ID.
        {"id": "w1", "given_name": "Dolores", "surname": "Núñez García",
         "date_of_birth": "1969-03-08", "sex": "F", "area": "A1", "address": "9 Palm Road",
         "national_id": "310000005"},
        {"id": "w2", "given_name": "Lola", "surname": "Nunez", "date_of_birth": "1969-08-03",
         "sex": "F", "area": "A5", "address": "77 Hill Avenue", "national_id": ""},
        # One man, names swapped, no date of birth, another area.
        {"id": "m1", "given_name": "Kwabena", "surname": "Ofori", "date_of_birth": "1988-12-01",
         "sex": "M", "area": "A2", "address": "3 Church Street", "national_id": ""},
        {"id": "m2", "given_name": "Ofori", "surname": "Kwabena", "date_of_birth": "",
         "sex": "M", "area": "A6", "address": "3 Church Street", "national_id": ""},
    ]
    pairs, _ = dedupe(tmp_path, rows)
    assert not linked(pairs, "t1", "t2")
    assert not linked(pairs, "f1", "f2")
    assert linked(pairs, "w1", "w2")
    assert linked(pairs, "m1", "m2")


def test_a_person_file_unlike_the_synthetic_country(tmp_path):
    """bench/linkage_people.py, small: several cultures, twins, same-name parents and
    children, moves, nicknames, swaps, missing, placeholder and mistyped IDs."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "linkage_people.py"),
                           "--persons", "1500", "--seed", "3"],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    result = json.loads(done.stdout)
    assert result["true_pairs"] > 500
    assert result["precision"] >= 0.98 and result["f1"] >= 0.97, result


@pytest.mark.django_db
def test_a_placeholder_id_in_the_registry_joins_nobody_and_is_counted():
    from spmis.linkage.models import PersonIdentity
    from spmis.linkage.services import linkage_run
    from tests import factories

    factories.area_levels()
    home = factories.area("XY")
    names = [("Kofi", "Mensah", "1970-02-03"), ("Ama", "Owusu", "1985-11-20"),
             ("Yaw", "Asante", "1999-06-14"), ("Esi", "Boateng", "2004-01-30")]
    for (given_name, surname, born), nid in zip(names, ["0", "000000", "N/A", "0"],
                                                strict=True):
        factories.person(area=home, given_name=given_name, family_name=surname, born=born,
                         national_id=nid)
    run = linkage_run(actor=None)
    assert run.counts["placeholder_ids"] == 4
    assert PersonIdentity.objects.values("identity").distinct().count() == 4


def homes(n: int) -> list[dict[str, str]]:
    """n homes of three people each with an ID of their own: a parent and two children of
    one surname, one address, different given names and dates of birth; every fifth home's
    first child recorded again by another office (no address, no ID)."""
    rows = []
    for h in range(n):
        home = {"surname": SURNAMES[h % len(SURNAMES)], "area": f"A{h % 7}",
                "address": f"{h} {STREETS[h % len(STREETS)]}"}
        for k, year in enumerate((1960 + h % 20, 1990 + h % 15, 1993 + h % 15)):
            rows.append({**home, "id": f"h{h}_{k}",
                         "given_name": GIVEN[(3 * h + 5 * k) % len(GIVEN)],
                         "date_of_birth": f"{year}-{1 + (h + k) % 12:02d}-{1 + h % 28:02d}",
                         "sex": "MF"[(h + k) % 2], "national_id": str(500_000_000 + 3 * h + k)})
        if h % 5 == 0:
            rows.append({**rows[-2], "id": f"h{h}_again", "address": "", "national_id": ""})
    return rows


def test_housemates_share_a_family_not_an_identity(tmp_path):
    """Surname, address and area agree for every member of a home: counted as if they were
    independent, they make siblings with look-alike names one person."""
    rows = homes(150)
    home = {"surname": "Vu", "area": "A3", "address": "8 Lake Road"}
    rows += [
        # A sister and a brother: names that look alike, other sex, other birth date, no IDs.
        {**home, "id": "s1", "given_name": "Huong", "sex": "F", "date_of_birth": "1968-10-26",
         "national_id": ""},
        {**home, "id": "s2", "given_name": "Hung", "sex": "M", "date_of_birth": "1970-09-18",
         "national_id": ""},
        # One man recorded twice at home, once without a birth date or ID.
        {**home, "id": "d1", "given_name": "Thanh", "sex": "M", "date_of_birth": "1995-03-02",
         "national_id": "600000001"},
        {**home, "id": "d2", "given_name": "Thanh", "sex": "M", "date_of_birth": "",
         "national_id": ""},
    ]
    model = model_of(rows)
    within = model[engine.SPMIS]["housemates"]
    # Two housemates share a surname far more often than two people picked at random.
    assert within["surname"][str(6)] < weight(model, "surname", "Exact match on surname") - 3
    pairs, _ = dedupe(tmp_path, rows)
    assert not linked(pairs, "s1", "s2")
    assert linked(pairs, "d1", "d2")


def test_a_file_without_homes_keeps_its_weights():
    # Every person at an address of their own (as in FEBRL): nothing to learn about homes.
    assert model_of(people(300))[engine.SPMIS]["housemates"] == {}


def test_siblings_whose_given_names_share_a_first_word_are_two_people(tmp_path):
    rows = people(120)
    home = {"surname": "Huynh", "area": "H2", "address": "5 Market Road"}
    rows += [
        {**home, "id": "v1", "given_name": "Văn An", "sex": "M", "date_of_birth": "2010-09-17",
         "national_id": ""},
        {**home, "id": "v2", "given_name": "Văn Nam", "sex": "M", "date_of_birth": "2012-07-04",
         "national_id": ""},
        {**home, "id": "m1", "given_name": "María José", "sex": "F",
         "date_of_birth": "1999-01-05", "national_id": ""},
        {**home, "id": "m2", "given_name": "María Luisa", "sex": "F",
         "date_of_birth": "2001-06-21", "national_id": ""},
        # A typo in the last word is still one name.
        {**home, "id": "t1", "given_name": "Thi Hoa", "sex": "F", "date_of_birth": "1980-02-02",
         "national_id": "700000001"},
        {**home, "id": "t2", "given_name": "Thi Hao", "sex": "F", "date_of_birth": "1980-02-02",
         "national_id": "700000001"},
    ]
    pairs, _ = dedupe(tmp_path, rows)
    assert not linked(pairs, "v1", "v2")
    assert not linked(pairs, "m1", "m2")
    assert linked(pairs, "t1", "t2")


@pytest.mark.django_db
def test_a_shared_id_in_the_registry_joins_nobody_even_after_a_decision():
    """An office's number on the records of five different people: the run reads it as
    missing, and so do the identities derived again after a reviewer's decision."""
    from spmis.linkage.models import PersonIdentity
    from spmis.linkage.services import (
        identities_derive,
        linkage_run,
        pair_decide,
        shared_national_ids,
    )
    from spmis.registry.models import Person
    from tests import factories

    factories.area_levels()
    home = factories.area("XY")
    names = [("Kofi", "Mensah", "1970-02-03"), ("Ama", "Owusu", "1985-11-20"),
             ("Yaw", "Asante", "1999-06-14"), ("Esi", "Boateng", "2004-01-30"),
             ("Kwame", "Adjei", "1961-08-09")]
    for given_name, surname, born in names:
        factories.person(area=home, given_name=given_name, family_name=surname, born=born,
                         national_id="4455667788")
    # Two records of one woman sharing her own ID: that ID still joins.
    for _ in range(2):
        factories.person(area=home, given_name="Adwoa", family_name="Sarpong",
                         born="1990-05-05", national_id="1234500001")
    assert shared_national_ids() == {"4455667788"}
    run = linkage_run(actor=None)
    assert run.counts["shared_ids"] == 1 and run.counts["shared_id_records"] == 5
    assert PersonIdentity.objects.values("identity").distinct().count() == 6
    # A reviewer joins two of the five: the other three stay apart.
    kofi, ama, *rest = Person.objects.filter(national_id="4455667788").order_by("pk")
    pair_decide(actor=factories.user("REGISTRAR", area="XY"), person_a=kofi.pk,
                person_b=ama.pk, decision="MATCH", reason="same person, checked")
    identities_derive()
    of = dict(PersonIdentity.objects.values_list("person_id", "identity"))
    assert of[kofi.pk] == of[ama.pk]
    assert len({of[p.pk] for p in [kofi, *rest]}) == 4
