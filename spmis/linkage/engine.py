"""Probabilistic record linkage: a Fellegi-Sunter model with splink on DuckDB.

Pure data work (no Django): records in, scored pairs out. Records are a Polars frame with the
columns ``id, given_name, surname, date_of_birth, sex, area`` and optionally ``national_id``
and ``address``; :func:`prepare` cleans them, :func:`train` estimates a model (u by random
sampling, m and the prior by expectation maximisation) and :func:`score` returns every blocked
pair with its match probability, match weight and the weight each comparison contributed.
A trained model is a JSON document: it is saved, versioned and reused as it is.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from spmis.linkage import comparisons, names

REQUIRED = ("id", "given_name", "surname", "date_of_birth", "sex", "area")
OPTIONAL = ("national_id", "address")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")
MIN_RECORDS = 2
# EM needs enough pairs inside its blocks to say anything; below this the default m values stay.
EM_MIN_RECORDS = 50
# An ID carried by more than this many differently named people is shared (a household's,
# an office's), not a person's: it is counted as missing.
SHARED_ID_NAMES = 3
# Extra placeholder IDs (comma-separated), added to names.PLACEHOLDER_IDS.
PLACEHOLDER_ENV = "SPMIS_LINKAGE_PLACEHOLDER_IDS"
Progress = Callable[[str], None]


class LinkageError(ValueError):
    """The records cannot be linked; the message says why and what to do."""


@dataclass(frozen=True)
class Prepared:
    frame: pl.DataFrame
    has_national_id: bool
    has_address: bool
    invalid_dates: int
    # Records whose national ID was a placeholder, IDs shared by several people and the
    # records carrying them: all counted as missing.
    placeholder_ids: int = 0
    shared_ids: int = 0
    shared_id_records: int = 0

    def counts(self) -> dict[str, int]:
        return {"invalid_dates": self.invalid_dates, "placeholder_ids": self.placeholder_ids,
                "shared_ids": self.shared_ids, "shared_id_records": self.shared_id_records}


def placeholder_ids(extra: Iterable[str] = ()) -> frozenset[str]:
    """The national-ID values read as "no ID": the built-in list, ``SPMIS_LINKAGE_PLACEHOLDER_
    IDS`` from the environment and ``extra``, cleaned as IDs are."""
    listed = [*names.PLACEHOLDER_IDS, *os.environ.get(PLACEHOLDER_ENV, "").split(","), *extra]
    return frozenset(_id_text(v) for v in listed if _id_text(v))


def _id_text(value: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]", " ", value.lower())).strip()


def prepare(records: pl.DataFrame, *, placeholders: Iterable[str] = ()) -> Prepared:
    """Check and standardise records: lower-case trimmed text without accents, ISO dates,
    nicknames read as their full name, phonetic keys, placeholder and shared IDs removed."""
    missing = [c for c in REQUIRED if c not in records.columns]
    if missing:
        raise LinkageError(f"Missing column(s): {', '.join(missing)}. The records need "
                           f"{', '.join(REQUIRED)} (and may have {', '.join(OPTIONAL)}).")
    if records.height < MIN_RECORDS:
        raise LinkageError(f"{records.height} record(s): linkage needs at least two.")
    present = [c for c in (*REQUIRED, *OPTIONAL) if c in records.columns]
    frame = records.select([pl.col(c).cast(pl.String) for c in present])
    if frame["id"].null_count() or frame["id"].n_unique() != frame.height:
        raise LinkageError("The id column must be filled and unique on every row.")
    frame = _cleaned(frame, [c for c in present if c not in ("id", "date_of_birth")])
    if frame.select(pl.col("given_name").is_null() & pl.col("surname").is_null()).to_series().all():
        raise LinkageError("Every record has empty names: there is nothing to compare.")
    frame = _with_name_keys(_dates(frame))
    invalid = frame.filter(pl.col("date_of_birth").is_null()).height - records.select(
        pl.col("date_of_birth").cast(pl.String).str.strip_chars().replace("", None)
        .is_null().sum()).item()
    counts = {"placeholder_ids": 0, "shared_ids": 0, "shared_id_records": 0}
    if "national_id" in frame.columns:
        frame, counts = _usable_ids(frame, placeholder_ids(placeholders))
    has_nid = "national_id" in frame.columns and frame["national_id"].null_count() < frame.height
    has_address = "address" in frame.columns and frame["address"].null_count() < frame.height
    return Prepared(frame.rename({"id": "unique_id"}), has_nid, has_address, invalid, **counts)


def _dates(frame: pl.DataFrame) -> pl.DataFrame:
    """ISO dates, their day-and-month swap and year, worked out once per distinct value (a
    registry's million dates of birth hold a few tens of thousands of values)."""
    forms = _date_forms(frame["date_of_birth"].unique().drop_nulls())
    raw = pl.col("date_of_birth")
    return frame.with_columns(**{
        column: raw.replace_strict(forms["raw"], forms[source], default=None,
                                   return_dtype=forms.schema[source])
        for column, source in (("dob_swapped", "dob_swapped"), ("dob_year", "dob_year"),
                               ("date_of_birth", "iso"))})


def _date_forms(values: pl.Series) -> pl.DataFrame:
    dob = pl.coalesce([pl.col("raw").str.strip_chars().str.to_date(f, strict=False)
                       for f in DATE_FORMATS])
    return pl.DataFrame({"raw": values}, schema={"raw": pl.String}).with_columns(
        dob=dob).with_columns(
        iso=pl.col("dob").dt.strftime("%Y-%m-%d"),
        # Day and month swapped (only possible when the day is 12 or less).
        dob_swapped=pl.when(pl.col("dob").dt.day() <= 12).then(
            pl.date(pl.col("dob").dt.year(), pl.col("dob").dt.day(), pl.col("dob").dt.month())
            .dt.strftime("%Y-%m-%d")),
        dob_year=pl.col("dob").dt.year().cast(pl.Int32),
    ).drop("dob")


def _with_name_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """First and last word of each name, the given name's canonical form (its first and last
    words' nicknames read as the full name), phonetic keys and a key that is the same when
    the names are swapped. All worked out once per distinct name and joined back."""
    table = names.nickname_table()
    words = pl.col("given_name").str.split(" ")
    first, last = words.list.first(), words.list.last()
    given = frame.select(pl.col("given_name").unique().drop_nulls()).with_columns(
        given_first=first, given_last=last,
        given_canon=pl.when(words.list.len() > 1)
        .then(first.replace(table) + " " + last.replace(table)).otherwise(first.replace(table)))
    given = given.with_columns(given_ph=phonetic(pl.col("given_canon")))
    surnames = pl.col("surname").str.split(" ")
    family = frame.select(pl.col("surname").unique().drop_nulls()).with_columns(
        surname_first=surnames.list.first(), surname_last=surnames.list.last())
    family = family.with_columns(surname_ph=phonetic(pl.col("surname_first")))
    frame = frame.join(given, on="given_name", how="left", nulls_equal=False).join(
        family, on="surname", how="left", nulls_equal=False)
    given_ph, surname_ph = pl.col("given_ph"), pl.col("surname_ph")
    return frame.with_columns(
        name_key=pl.when(given_ph.is_not_null() & surname_ph.is_not_null()).then(
            pl.min_horizontal(given_ph, surname_ph) + pl.max_horizontal(given_ph, surname_ph)))


def is_placeholder_id(cleaned: pl.Expr, placeholders: frozenset[str] | None = None
                      ) -> pl.Expr:
    """True where a national ID (cleaned as ``prepare`` cleans text) means "no ID": a listed
    value or one repeated character (0, 000000, 999999999)."""
    listed = placeholder_ids() if placeholders is None else placeholders
    nid = cleaned.str.replace_all(" ", "")
    return (cleaned.is_in(list(listed)) | (nid.str.strip_chars(nid.str.slice(0, 1)) == "")
            ).fill_null(False)


def placeholder_id_mask(national_id: pl.Expr) -> pl.Expr:
    """``is_placeholder_id`` on raw values (as stored in the registry)."""
    text = (national_id.str.to_lowercase().str.replace_all(r"[^0-9a-z]", " ")
            .str.replace_all(r"\s+", " ").str.strip_chars())
    return is_placeholder_id(text)


def _usable_ids(frame: pl.DataFrame, placeholders: frozenset[str]
                ) -> tuple[pl.DataFrame, dict[str, int]]:
    """National IDs that name one person: placeholders (a listed value, one repeated
    character) and IDs carried by more than ``SHARED_ID_NAMES`` differently named people are
    set to missing and counted."""
    nid = pl.col("national_id").str.replace_all(" ", "")
    frame = frame.with_columns(placeholder=is_placeholder_id(pl.col("national_id"),
                                                             placeholders))
    n_placeholder = int(frame["placeholder"].sum())
    frame = frame.with_columns(
        national_id=pl.when(~pl.col("placeholder")).then(nid)).drop("placeholder")
    people = (frame.filter(pl.col("national_id").is_not_null())
              .group_by("national_id").agg(pl.col("given_ph", "date_of_birth").n_unique()))
    # Different given names and different birth dates: not one person's variants.
    shared = people.filter(pl.col("given_ph") > SHARED_ID_NAMES,
                           pl.col("date_of_birth") > SHARED_ID_NAMES)["national_id"]
    is_shared = pl.col("national_id").is_in(shared.implode())
    n_records = frame.select(is_shared.sum()).item()
    frame = frame.with_columns(national_id=pl.when(~is_shared).then(pl.col("national_id")))
    return frame, {"placeholder_ids": n_placeholder, "shared_ids": shared.len(),
                   "shared_id_records": int(n_records)}


FOLDED = ("given_name", "surname", "address")
# Letters that do not decompose into a base letter and an accent.
_LETTERS = {"đ": "d", "ð": "d", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe",
            "\u0131": "i", "þ": "th"}  # dotless i


def _cleaned(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``_clean`` on each distinct value of each column, joined back: a registry's names
    repeat, and accent folding and the regular expressions cost far more than a join."""
    for column in columns:
        distinct = frame.select(pl.col(column).unique().drop_nulls()).with_columns(
            _clean(column).alias("_clean"))
        frame = frame.with_columns(pl.col(column).replace_strict(
            distinct[column], distinct["_clean"], default=None, return_dtype=pl.String))
    return frame


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.to_lowercase()
    if column in FOLDED:  # accents matter only where people write words
        text = (text.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")
                .str.replace_many(list(_LETTERS), list(_LETTERS.values())))
    text = (text.str.replace_all(r"[^\p{L}\p{N} ]", " ")
            .str.replace_all(r"\s+", " ").str.strip_chars())
    return pl.when(text != "").then(text).alias(column)


_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
            **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6",
            **dict.fromkeys("hw", ""), **dict.fromkeys("aeiouy", "0")}


def phonetic(name: pl.Expr) -> pl.Expr:
    """A Soundex-style key, set-wise: the first letter, then up to three consonant classes."""
    letters = name.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    digits = letters.str.slice(1).str.replace_many(list(_SOUNDEX), list(_SOUNDEX.values()))
    for code in "123456":
        digits = digits.str.replace_all(f"{code}+", code)
    key = letters.str.slice(0, 1) + digits.str.replace_all("0", "", literal=True).str.slice(0, 3)
    return pl.when(letters != "").then(key.str.pad_end(4, "0"))


SPARK_EXTRA = "pip install 'spmis[spark]'"


def _linker(prepared: Prepared, model: dict[str, Any], spark: Any = None) -> Any:
    """A splink linker on DuckDB, or on Spark when given a SparkSession."""
    from splink import DuckDBAPI, Linker

    model = {key: value for key, value in model.items() if key != SPMIS}
    if spark is None:
        db: Any = DuckDBAPI()
        table = db.register(prepared.frame.to_arrow())
    else:
        db = _spark_api()(spark_session=spark)
        table = db.register(spark.createDataFrame(prepared.frame.to_pandas()))
        model = for_dialect(model, "spark")
    return Linker(table, model, log_level="ERROR")


def _spark_api() -> Any:
    """splink's Spark backend, which needs the optional ``spark`` extra (pyspark, pandas)."""
    from importlib.util import find_spec

    # Spark takes and gives back pandas frames.
    missing = [name for name in ("pyspark", "pandas") if find_spec(name) is None]
    if missing:
        raise ImportError(f"Linkage on Spark needs {' and '.join(missing)}, which a plain "
                          f"install leaves out: {SPARK_EXTRA}")
    from splink import SparkAPI

    return SparkAPI


_FUNCTIONS = ("levenshtein", "damerau_levenshtein", "jaro", "jaro_winkler")


def for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The same trained model written in another engine's SQL (m, u and the prior kept)."""
    import sqlglot
    from splink.internals.dialects import SplinkDialect

    source = SplinkDialect.from_string(model["sql_dialect"])
    target = SplinkDialect.from_string(dialect)
    # Similarity functions go through sqlglot as placeholders: it would rename them itself.
    names = [(getattr(source, f"{f}_function_name"), getattr(target, f"{f}_function_name"), f)
             for f in sorted(_FUNCTIONS, key=len, reverse=True)]

    def sql(text: str) -> str:
        if text.strip().upper() == "ELSE":
            return text
        for old, _, key in names:
            text = re.sub(rf"\b{old}\(", f"spmis_fn_{key}(", text, flags=re.IGNORECASE)
        out: str = sqlglot.transpile(text, read=source.sqlglot_dialect,
                                     write=target.sqlglot_dialect)[0]
        for _, new, key in names:
            out = re.sub(rf"\bspmis_fn_{key}\(", f"{new}(", out, flags=re.IGNORECASE)
        return out

    copy = json.loads(json.dumps(model))
    copy["sql_dialect"] = dialect
    for rule in copy["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"], rule["sql_dialect"] = sql(rule["blocking_rule"]), dialect
    for comparison in copy["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = sql(level["sql_condition"])
    return copy


MIN_LABELS = 20  # confirmed matches needed before they may re-estimate m
# Random pairs for u: ten per record, at least 100,000, at most a million (enough for the
# rare levels; every comparison is computed on each, so this is most of training's time).
U_PAIRS = 1e6


def settings(prepared: Prepared) -> dict[str, Any]:
    """The model's comparisons and blocking rules (a splink settings document)."""
    from splink import SettingsCreator

    flags = {"has_national_id": prepared.has_national_id, "has_address": prepared.has_address}
    creator = SettingsCreator(
        link_type="dedupe_only", comparisons=comparisons.comparisons(**flags),
        blocking_rules_to_generate_predictions=comparisons.blocking_rules(prepared.frame,
                                                                          **flags),
        retain_intermediate_calculation_columns=True, retain_matching_columns=True)
    return creator.create_settings_dict(sql_dialect_str="duckdb")


def train(prepared: Prepared, *, seed: int = 1, progress: Progress | None = None,
          matches: pl.DataFrame | None = None) -> dict[str, Any]:
    """Estimate the model on these records; returns the trained splink settings (JSON).

    u is measured by random sampling, the prior from deterministic rules, m by expectation
    maximisation where the file has the signal for it (else the documented defaults stay,
    and ``progress`` and the model's ``spmis.m`` say so). ``matches`` (``id_l, id_r``: pairs
    reviewers confirmed) re-estimate m when there are at least ``MIN_LABELS`` of them."""
    say = progress or (lambda _: None)
    if prepared.placeholder_ids or prepared.shared_ids:
        say(f"national IDs read as missing: {prepared.placeholder_ids} placeholder(s), "
            f"{prepared.shared_ids} ID(s) shared by several people on "
            f"{prepared.shared_id_records} record(s)")
    spec = settings(prepared)
    say("estimating the prior")
    spec["probability_two_random_records_match"] = prior = _prior(prepared, spec)
    linker = _linker(prepared, spec)
    say("estimating u by random sampling")
    pairs = min(U_PAIRS, max(1e5, prepared.frame.height * 10.0))
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
    model, learnt = _em(prepared, linker.misc.save_model_to_json(), say)
    if matches is not None and matches.height >= MIN_LABELS:
        say(f"estimating m from {matches.height} confirmed matches")
        linker = _linker(prepared, model)
        labels = linker.table_management.register_table(
            matches.select(unique_id_l=pl.col("id_l").cast(pl.String),
                           unique_id_r=pl.col("id_r").cast(pl.String)).to_arrow(),
            "spmis_confirmed_matches", overwrite=True)
        linker.training.estimate_m_from_pairwise_labels(labels)
        model = linker.misc.save_model_to_json()
        learnt.append("confirmed matches")
    model = _guarded(model, prior, pairs)
    model[SPMIS] = {"m": f"estimated by EM on the same {', '.join(learnt)}" if learnt else
                    "defaults",
                    "lookalikes": lookalike_odds(prepared, _id_differs(model)),
                    "housemates": housemate_weights(prepared, model),
                    **prepared.counts()}
    if not learnt:
        say("m: the default values (the file gives expectation maximisation nothing to "
            "learn from)")
    return model


SPMIS = "spmis"  # our part of the model document (splink ignores it)


def _prior(prepared: Prepared, spec: dict[str, Any]) -> float:
    """The share of pairs that match, from deterministic rules; floored so that a file
    without duplicates is not "impossible", capped at even odds."""
    from splink import block_on

    rules = [block_on("national_id")] if prepared.has_national_id else []
    rules.append(block_on("given_name", "surname", "date_of_birth"))
    prior = 0.5  # when even perfect recall cannot explain the exact matches (all duplicates)
    for recall in (0.8, 1.0):
        probe = _linker(prepared, spec)
        try:
            probe.training.estimate_probability_two_random_records_match(rules, recall=recall)
        except Exception:  # splink raises several kinds; the floor stands in
            continue
        prior = probe.misc.save_model_to_json()["probability_two_random_records_match"]
        break
    floor = 1.0 / max(prepared.frame.height, 2) ** 2
    return min(max(float(prior), floor), 0.5)


def _em(prepared: Prepared, model: dict[str, Any], say: Progress
        ) -> tuple[dict[str, Any], list[str]]:
    """m by expectation maximisation; returns the model and the blocks it learnt from.

    With national IDs: within one ID nearly every pair is a match, the cleanest place to
    learn how names, dates and places differ within a person; pairs with the same names
    teach only how often one person's IDs differ (among them, parents and children of one
    name would teach the rest wrong). Without IDs: pairs with the same date of birth, then
    the same-sounding names, averaged."""
    from splink import block_on

    if prepared.frame.height < EM_MIN_RECORDS:
        return model, []
    if not prepared.has_national_id:
        linker, learnt = _linker(prepared, model), []
        for name, rule in (("date of birth", block_on("date_of_birth")),
                           ("names", block_on("surname_ph", "given_ph"))):
            if _em_on(linker, name, rule, say, _em_sample(prepared)):
                learnt.append(name)
                model = linker.misc.save_model_to_json()
            else:  # a failed session may leave its linker's settings half-changed
                linker = _linker(prepared, model)
        return model, learnt
    by_id, by_names = _linker(prepared, model), _linker(prepared, model)
    learnt = [name for name, linker, rule in (
        ("national ID", by_id, block_on("national_id")),  # ID, then names in one area
        ("names", by_names, block_on("given_name", "surname", "area")))
        if _em_on(linker, name, rule, say, _em_sample(prepared))]
    # A failed session may leave its linker's settings half-changed: only a session that
    # learnt gives its comparisons.
    trained = by_id.misc.save_model_to_json() if "national ID" in learnt else dict(model)
    comparisons_of = {c["output_column_name"]: c for c in trained["comparisons"]}
    # Only a file whose IDs repeat has duplicates the names block can learn the ID from.
    if "names" in learnt and "national ID" in learnt:
        comparisons_of["national_id"] = next(
            c for c in by_names.misc.save_model_to_json()["comparisons"]
            if c["output_column_name"] == "national_id")
    trained["comparisons"] = [comparisons_of.get(c["output_column_name"], c)
                              for c in model["comparisons"]]
    return trained, learnt


# EM iterates over every pair of its block: beyond this many records it samples records.
EM_RECORDS = 100_000


def _em_sample(prepared: Prepared) -> float:
    return min(1.0, EM_RECORDS / prepared.frame.height)


def _em_on(linker: Any, name: str, rule: Any, say: Progress, sample: float = 1.0) -> bool:
    say(f"expectation maximisation on pairs with the same {name}")
    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=sample)
    except Exception:  # no pairs, no matches, no convergence
        # The comparisons keep the m values they had (the defaults at first).
        say(f"expectation maximisation on the same {name} skipped: too few pairs to learn "
            "from")
        return False
    return True


M_FLOOR = 1e-4
# One person's records with two different valid IDs: rare, never impossible, never usual.
ID_M_BOUNDS = {"typo": (0.02, 0.2), "different": (0.001, 0.05)}
# Within one person these still differ now and then (people move, sex is mistyped): EM on a
# registry that rarely shows it must not turn the disagreement into a veto.
DISAGREE_M_FLOOR = {"area": 0.05, "residence": 0.05, "sex": 0.01}


def _guarded(model: dict[str, Any], prior: float, sampled: float) -> dict[str, Any]:
    """Keep the prior estimated from deterministic rules (EM inside one block may drag it to
    nothing); give a level random sampling never saw half a count of u; floor m so that no
    single disagreement can veto a match (an m of 0 is a weight of minus infinity); keep
    every level's weight between its comparison's full disagreement and full agreement (a
    near miss never weighs less than a total disagreement)."""
    model["probability_two_random_records_match"] = prior
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        floor = DISAGREE_M_FLOOR.get(comparison["output_column_name"], M_FLOOR)
        for level in levels:
            if not isinstance(level.get("u_probability"), float | int) or \
                    level["u_probability"] <= 0:
                level["u_probability"] = 0.5 / sampled
            level["m_probability"] = max(float(level.get("m_probability") or 0), M_FLOOR)
        levels[-1]["m_probability"] = max(levels[-1]["m_probability"], floor)
        if comparison["output_column_name"] == "national_id":
            for level in levels[1:]:
                low, high = ID_M_BOUNDS[level["label_for_charts"]]
                level["m_probability"] = min(max(level["m_probability"], low), high)
            # One character apart neither joins nor separates: a typo, or IDs given out in
            # sequence to a family registered together (twins).
            typo = levels[1]
            typo["m_probability"] = min(max(typo["m_probability"], typo["u_probability"] / 4),
                                        typo["u_probability"])
        ratios = [lv["m_probability"] / lv["u_probability"] for lv in levels]
        top, bottom = ratios[0], min(ratios)
        levels[-1]["m_probability"] = bottom * levels[-1]["u_probability"]
        for level in levels[1:-1]:
            ratio = level["m_probability"] / level["u_probability"]
            level["m_probability"] = min(max(ratio, bottom), top) * level["u_probability"]
    return model


def _id_differs(model: dict[str, Any]) -> float:
    """How often one person's two records carry IDs that are not the same (the model's m)."""
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] == "national_id":
            return sum(float(lv["m_probability"]) for lv in comparison["comparison_levels"][2:])
    return 0.0


def lookalike_odds(prepared: Prepared, id_differs: float = 0.0) -> dict[str, float]:
    """Log2 odds that two records looking like two members of one household are one person,
    learnt from such pairs where both records carry a usable national ID: their share with
    different IDs is q * ``id_differs`` + (1 - q) (one person's records differ that often;
    two people's always), solved for q, with one pseudo-pair of each kind (even odds when
    the file cannot tell)."""
    people = prepared.frame
    if "national_id" not in people.columns:
        return {"family": 0.0, "generation": 0.0}
    people = people.filter(pl.col("national_id").is_not_null()).select(
        "unique_id", "national_id", "given_canon", "given_ph", "surname_first", "area",
        "date_of_birth", "dob_year")
    pairs = people.join(people, on=["surname_first", "area"], suffix="_r").filter(
        pl.col("unique_id") < pl.col("unique_id_r"))
    family = pairs.filter(pl.col("date_of_birth") == pl.col("date_of_birth_r"),
                          pl.col("given_ph") != pl.col("given_ph_r"),
                          pl.col("given_canon") != pl.col("given_canon_r"))
    generation = pairs.filter(
        pl.col("given_canon") == pl.col("given_canon_r"),
        (pl.col("dob_year") - pl.col("dob_year_r")).abs() >= comparisons.GENERATION_YEARS)
    return {"family": _log_odds(family, id_differs),
            "generation": _log_odds(generation, id_differs)}


def _log_odds(pairs: pl.DataFrame, id_differs: float) -> float:
    differ = pairs.filter(pl.col("national_id") != pl.col("national_id_r")).height
    share = (differ + 1) / (pairs.height + 2)
    q = min(max((1 - share) / (1 - min(id_differs, 0.5)), 0.01), 0.99)
    return round(math.log2(q / (1 - q)), 3)


# Residence levels that say "one home": two records there share a household's surname and
# often more, which two strangers' records do not.
HOME_LEVELS = ("same address and area", "same address", "similar address, same area")
HOUSEMATE_COMPARISONS = ("given_name", "surname", "date_of_birth", "sex")
HOUSEMATE_RECORDS = 200_000  # records whose households teach the housemate weights, at most
HOUSEMATE_PSEUDO_PAIRS = 20  # pairs at the file-wide u added to each level's count
HOUSEMATE_MIN_PAIRS = 100  # fewer pairs of two housemates than this teach nothing


def housemate_weights(prepared: Prepared, model: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each comparison level's weight between two records of one home, where it is lower
    than the file-wide weight: ``{comparison: {level value: weight}}``.

    Fellegi-Sunter takes the comparisons as independent; in one home they are not (family
    members share a surname, twins a date of birth, siblings names that look alike), so the
    file-wide u of a level understates how often two housemates fall in it and the surname
    and residence count one family twice. u is measured again on the pairs of one home whose
    two records carry valid national IDs more than one character apart (two people), with
    ``HOUSEMATE_PSEUDO_PAIRS`` at the file-wide u so that a file with few such pairs keeps
    its weights. Needs IDs, addresses and ``HOUSEMATE_MIN_PAIRS`` such pairs (a file without
    households, such as FEBRL, has a few: duplicates whose ID was replaced); empty
    otherwise."""
    if not (prepared.has_national_id and prepared.has_address):
        return {}
    frame = prepared.frame.filter(pl.col("national_id").is_not_null(),
                                  pl.col("address").is_not_null())
    if frame.height > HOUSEMATE_RECORDS:  # whole homes, sampled by their address
        keep = HOUSEMATE_RECORDS / frame.height
        frame = frame.filter(pl.col("address").hash(seed=1) % 10_000 < keep * 10_000)
    spec = {key: value for key, value in model.items() if key != SPMIS}
    spec["blocking_rules_to_generate_predictions"] = [{
        "blocking_rule": 'l."address" = r."address" AND l."area" = r."area"',
        "sql_dialect": spec["sql_dialect"]}]
    linker = _linker(Prepared(frame, True, True, 0), spec)
    pairs = pl.from_arrow(linker.inference.predict().as_pyarrow_table())
    assert isinstance(pairs, pl.DataFrame)
    if pairs.height == 0:
        return {}
    # Different IDs (a family's are often given out in sequence, one character apart): two
    # people, unless everything else says one (a mistyped or replaced ID), so each pair
    # counts by how far the file-wide model doubts it is one person.
    top = comparisons.level_values(model)["national_id"]["Exact match on national_id"]
    pairs = pairs.filter(pl.col("gamma_national_id").is_between(0, top - 1)).with_columns(
        doubt=1 - pl.col("match_probability").cast(pl.Float64))
    if pairs["doubt"].sum() < HOUSEMATE_MIN_PAIRS:
        return {}
    weights: dict[str, dict[str, float]] = {}
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        if name not in HOUSEMATE_COMPARISONS:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        counts = dict(pairs.filter(pl.col(f"gamma_{name}") >= 0)
                      .group_by(f"gamma_{name}").agg(pl.col("doubt").sum()).iter_rows())
        total = sum(counts.values())
        for i, level in enumerate(levels):
            value = len(levels) - 1 - i
            m, u = float(level["m_probability"]), float(level["u_probability"])
            within = ((counts.get(value, 0) + HOUSEMATE_PSEUDO_PAIRS * u)
                      / (total + HOUSEMATE_PSEUDO_PAIRS))
            if within > u:
                weights.setdefault(name, {})[str(value)] = round(math.log2(m / within), 3)
    return weights


def score(prepared: Prepared, model: dict[str, Any], *, threshold: float = 0.01,
          spark: Any = None) -> pl.DataFrame:
    """Every blocked pair scoring at least ``threshold``: ``id_l, id_r, match_probability,
    match_weight`` and ``weights`` (a JSON object: comparison -> its match weight).
    With ``spark`` (a SparkSession) the same model runs on Spark instead of DuckDB."""
    linker = _linker(prepared, model, spark)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    frame = pl.from_pandas(predictions.as_pandas_dataframe()) if spark is not None else \
        pl.from_arrow(predictions.as_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    names = [c[3:] for c in frame.columns if c.startswith("mw_") and not c.startswith("mw_tf_")]
    weight_of = {
        name: pl.col(f"mw_{name}").cast(pl.Float64)
        + (pl.col(f"mw_tf_adj_{name}").cast(pl.Float64).fill_null(0.0)
           if f"mw_tf_adj_{name}" in frame.columns else pl.lit(0.0))
        for name in names}
    frame = frame.with_columns(match_weight=pl.col("match_weight").cast(pl.Float64),
                               **{f"w_{name}": expr for name, expr in weight_of.items()})
    frame = _lookalikes(_housemates(frame, model, names), model, names)
    return frame.filter(pl.col("match_probability") >= threshold).select(
        id_l="unique_id_l", id_r="unique_id_r",
        match_probability="match_probability", match_weight="match_weight",
        weights=pl.struct([pl.col(f"w_{name}").round(3).alias(name)
                           for name in [*names, LOOKALIKE]]).struct.json_encode(),
    )


LOOKALIKE = "household_lookalike"


def _housemates(frame: pl.DataFrame, model: dict[str, Any], names: list[str]) -> pl.DataFrame:
    """Two records of one home: each comparison weighs at most its housemate weight (see
    :func:`housemate_weights`); the match weight changes by the sum of the differences."""
    table = model.get(SPMIS, {}).get("housemates") or {}
    if not table or "gamma_residence" not in frame.columns:
        return frame
    level = comparisons.level_values(model)["residence"]
    home = pl.col("gamma_residence").is_in([level[label] for label in HOME_LEVELS])
    changed = {}
    for name, weights in table.items():
        if name not in names:
            continue
        cap = pl.col(f"gamma_{name}").cast(pl.String).replace_strict(
            weights, default=None, return_dtype=pl.Float64)
        changed[f"w_{name}"] = pl.when(home & cap.is_not_null()).then(
            pl.min_horizontal(pl.col(f"w_{name}"), cap)).otherwise(pl.col(f"w_{name}"))
    if not changed:
        return frame
    delta = sum((expr - pl.col(column) for column, expr in changed.items()), pl.lit(0.0))
    return frame.with_columns(match_weight=pl.col("match_weight") + delta).with_columns(
        **changed).with_columns(
        match_probability=1 - 1 / (1 + pl.lit(2.0).pow(pl.col("match_weight"))))


def _lookalikes(frame: pl.DataFrame, model: dict[str, Any], names: list[str]) -> pl.DataFrame:
    """Pairs that look like two members of one household -- same surname, given names
    entirely different (siblings, twins), or same names and births a generation apart
    (parent and child) -- score at most the file's odds for such pairs plus what tells two
    people apart (national ID, sex): their shared surname, address, area and date say only
    that they are family. The difference is the ``household_lookalike`` weight."""
    odds = model.get(SPMIS, {}).get("lookalikes", {"family": 0.0, "generation": 0.0})
    level = comparisons.level_values(model)
    # One family name, in the surname or across the fields (a swapped record of a sibling).
    same_surname = ((pl.col("gamma_surname") >= level["surname"]["looks a little alike"])
                    | (pl.col("given_ph_l") == pl.col("surname_ph_r"))
                    | (pl.col("surname_ph_l") == pl.col("given_ph_r"))).fill_null(False)
    # Given names that are not one name (below "sounds alike", not swapped): two people.
    family = same_surname & (pl.col("gamma_given_name").is_between(
        0, level["given_name"]["looks a little alike"]))
    generation = (same_surname & (pl.col("gamma_given_name")
                                  >= level["given_name"]["given name and surname swapped"])
                  & (pl.col("gamma_date_of_birth") == 0))
    telling = sum((pl.col(f"w_{n}") for n in ("national_id", "sex") if n in names),
                  pl.lit(0.0))
    cap = (pl.when(family).then(pl.lit(odds["family"]))
           .when(generation).then(pl.lit(odds["generation"])) + telling)
    capped = pl.min_horizontal(pl.col("match_weight"), cap).fill_null(pl.col("match_weight"))
    return frame.with_columns(match_weight=capped,
                              **{f"w_{LOOKALIKE}": capped - pl.col("match_weight")}).with_columns(
        match_probability=1 - 1 / (1 + pl.lit(2.0).pow(pl.col("match_weight"))))


def prior_weight(model: dict[str, Any]) -> float:
    """The starting weight of every pair: log2 of the prior odds of a match."""
    p = float(model["probability_two_random_records_match"])
    return math.log2(p / (1 - p))


def model_summary(model: dict[str, Any]) -> str:
    """The comparisons, the prior, where m came from (EM or the defaults), the household
    look-alike odds and the counts of IDs read as missing."""
    names = [c.get("output_column_name", "?") for c in model.get("comparisons", [])]
    return json.dumps({"comparisons": names,
                       "prior": model.get("probability_two_random_records_match"),
                       **model.get(SPMIS, {})})


def blocking_recall(prepared: Prepared, model: dict[str, Any], pairs: pl.DataFrame) -> float:
    """The share of these pairs (``id_l, id_r``: e.g. the known true pairs) that some blocking
    rule compares: the highest recall the model can reach on them."""
    import duckdb

    rules = [r["blocking_rule"] for r in model["blocking_rules_to_generate_predictions"]]
    if pairs.height == 0:
        return 1.0
    with duckdb.connect() as db:
        db.register("records", prepared.frame.to_arrow())
        db.register("wanted", pairs.select(pl.col("id_l", "id_r").cast(pl.String)).to_arrow())
        row = db.execute(
            "SELECT count(*) FROM wanted w JOIN records l ON l.unique_id = w.id_l "
            "JOIN records r ON r.unique_id = w.id_r WHERE "
            + " OR ".join(f"COALESCE(({rule}), false)" for rule in rules)).fetchone()
    return round((row[0] if row else 0) / pairs.height, 4)
