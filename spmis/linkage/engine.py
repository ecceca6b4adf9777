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
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

REQUIRED = ("id", "given_name", "surname", "date_of_birth", "sex", "area")
OPTIONAL = ("national_id", "address")
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")
MIN_RECORDS = 2
# EM needs enough pairs inside its blocks to say anything; below this we keep u-only weights.
EM_MIN_RECORDS = 50
Progress = Callable[[str], None]


class LinkageError(ValueError):
    """The records cannot be linked; the message says why and what to do."""


@dataclass(frozen=True)
class Prepared:
    frame: pl.DataFrame
    has_national_id: bool
    has_address: bool
    invalid_dates: int


def prepare(records: pl.DataFrame) -> Prepared:
    """Check and standardise records: lower-case trimmed text, ISO dates, phonetic keys."""
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
    frame = frame.with_columns([_clean(c) for c in present if c not in ("id", "date_of_birth")])
    if frame.select(pl.col("given_name").is_null() & pl.col("surname").is_null()).to_series().all():
        raise LinkageError("Every record has empty names: there is nothing to compare.")
    dob = pl.coalesce([pl.col("date_of_birth").str.strip_chars()
                       .str.to_date(f, strict=False) for f in DATE_FORMATS])
    frame = frame.with_columns(dob=dob).with_columns(
        date_of_birth=pl.col("dob").dt.strftime("%Y-%m-%d"),
        # Day and month swapped (only possible when the day is 12 or less).
        dob_swapped=pl.when(pl.col("dob").dt.day() <= 12).then(
            pl.date(pl.col("dob").dt.year(), pl.col("dob").dt.day(), pl.col("dob").dt.month())
            .dt.strftime("%Y-%m-%d")),
        given_ph=phonetic(pl.col("given_name")),
        surname_ph=phonetic(pl.col("surname")),
    )
    invalid = frame.filter(pl.col("dob").is_null()).height - records.select(
        pl.col("date_of_birth").cast(pl.String).str.strip_chars().replace("", None)
        .is_null().sum()).item()
    has_nid = "national_id" in frame.columns and frame["national_id"].null_count() < frame.height
    has_address = "address" in frame.columns and frame["address"].null_count() < frame.height
    return Prepared(frame.drop("dob").rename({"id": "unique_id"}), has_nid, has_address,
                    invalid)


def _clean(column: str) -> pl.Expr:
    text = (pl.col(column).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N} ]", " ")
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


def settings(prepared: Prepared) -> dict[str, Any]:
    """The model's comparisons and blocking rules (a splink settings document)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = [_name("given_name", "given_ph"), _name("surname", "surname_ph"), _dob(),
                   cl.ExactMatch("sex"), cl.ExactMatch("area")]
    rules: list[Any] = [
        block_on("given_name", "surname"), block_on("date_of_birth", "surname_ph"),
        block_on("date_of_birth", "given_ph"), block_on("date_of_birth", "area"),
        block_on("surname_ph", "given_ph", "area")]
    if prepared.has_national_id:
        comparisons.insert(0, _national_id())
        rules.insert(0, block_on("national_id"))
    if prepared.has_address:
        comparisons.append(cl.LevenshteinAtThresholds("address", [1, 4]))
        rules.append(block_on("address", "area"))
    creator = SettingsCreator(
        link_type="dedupe_only", comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=True, retain_matching_columns=True)
    return creator.create_settings_dict(sql_dialect_str="duckdb")


def _name(column: str, phonetic_column: str) -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
            cll.JaroWinklerLevel(column, 0.92),
            cll.JaroWinklerLevel(column, 0.85),
            cll.ExactMatchLevel(phonetic_column).configure(label_for_charts="sounds alike"),
            cll.JaroWinklerLevel(column, 0.7),
            cll.ElseLevel(),
        ])


def _dob() -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel('"date_of_birth_l" = "dob_swapped_r"',
                            label_for_charts="day and month swapped"),
            cll.LevenshteinLevel("date_of_birth", 1),
            cll.CustomLevel('substr("date_of_birth_l", 1, 4) = substr("date_of_birth_r", 1, 4)',
                            label_for_charts="same year"),
            cll.ElseLevel(),
        ])


def _national_id() -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        output_column_name="national_id",
        # m is fixed, not estimated: where registries share IDs, EM otherwise learns that an ID
        # never differs within a person, and one typo then vetoes a match.
        comparison_levels=[
            cll.NullLevel("national_id"),
            cll.ExactMatchLevel("national_id").configure(m_probability=0.96,
                                                         fix_m_probability=True),
            cll.DamerauLevenshteinLevel("national_id", 1).configure(m_probability=0.02,
                                                                    fix_m_probability=True),
            cll.ElseLevel().configure(m_probability=0.02, fix_m_probability=True)])


SPARK_EXTRA = "pip install 'spmis[spark]'"


def _linker(prepared: Prepared, model: dict[str, Any], spark: Any = None) -> Any:
    """A splink linker on DuckDB, or on Spark when given a SparkSession."""
    from splink import DuckDBAPI, Linker

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


def train(prepared: Prepared, *, seed: int = 1, progress: Progress | None = None,
          matches: pl.DataFrame | None = None) -> dict[str, Any]:
    """Estimate the model on these records; returns the trained splink settings (JSON).

    ``matches`` (``id_l, id_r``: pairs reviewers confirmed) re-estimate m after EM when
    there are at least ``MIN_LABELS`` of them: the reviewers' labels teach the model."""
    from splink import block_on

    say = progress or (lambda _: None)
    spec = settings(prepared)
    rules = [block_on("national_id")] if prepared.has_national_id else []
    rules.append(block_on("given_name", "surname", "date_of_birth"))
    say("estimating the prior")
    prior = 0.5  # when even perfect recall cannot explain the exact matches (all duplicates)
    for recall in (0.8, 1.0):
        probe = _linker(prepared, spec)
        try:
            probe.training.estimate_probability_two_random_records_match(rules, recall=recall)
        except ValueError:
            continue
        prior = probe.misc.save_model_to_json()["probability_two_random_records_match"]
        break
    # No deterministic match at all (a file without duplicates) must not mean "impossible".
    floor = 1.0 / max(prepared.frame.height, 2) ** 2
    spec["probability_two_random_records_match"] = min(max(float(prior), floor), 0.5)
    linker = _linker(prepared, spec)
    say("estimating u by random sampling")
    pairs = min(5e6, prepared.frame.height * 50.0)
    linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=seed)
    if prepared.frame.height >= EM_MIN_RECORDS:
        # Within one national ID nearly every pair is a match: the cleanest place to learn
        # how names, dates and areas differ within a person. Names then teach the rest.
        em_rules = ([block_on("national_id"), block_on("given_name", "surname")]
                    if prepared.has_national_id else
                    [block_on("date_of_birth"), block_on("surname_ph", "given_ph")])
        for rule in em_rules:
            say("expectation maximisation")
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, record_sample_proportion=1.0)
            except (ValueError, ZeroDivisionError) as exc:
                # Too few matches inside the blocks to estimate m (e.g. no duplicates at all):
                # the comparisons keep their starting m values.
                say(f"expectation maximisation skipped: {str(exc)[:120]}")
    if matches is not None and matches.height >= MIN_LABELS:
        say(f"estimating m from {matches.height} confirmed matches")
        labels = linker.table_management.register_table(
            matches.select(unique_id_l=pl.col("id_l").cast(pl.String),
                           unique_id_r=pl.col("id_r").cast(pl.String)).to_arrow(),
            "spmis_confirmed_matches", overwrite=True)
        linker.training.estimate_m_from_pairwise_labels(labels)
    model: dict[str, Any] = linker.misc.save_model_to_json()
    return _guarded(model, spec["probability_two_random_records_match"])


M_FLOOR = 1e-4


def _guarded(model: dict[str, Any], prior: float) -> dict[str, Any]:
    """Keep the prior estimated from deterministic rules (EM inside one block may drag it to
    nothing), and floor every m so that no single disagreement (a typo, a wrongly recorded
    sex) can veto a match by itself: an m of 0 is a weight of minus infinity."""
    model["probability_two_random_records_match"] = prior
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("m_probability") is not None:
                level["m_probability"] = max(float(level["m_probability"]), M_FLOOR)
    return model


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
    weight_of = [
        (name, pl.col(f"mw_{name}").cast(pl.Float64)
         + (pl.col(f"mw_tf_adj_{name}").cast(pl.Float64).fill_null(0.0)
            if f"mw_tf_adj_{name}" in frame.columns else pl.lit(0.0)))
        for name in names]
    return frame.select(
        id_l="unique_id_l", id_r="unique_id_r",
        match_probability=pl.col("match_probability").cast(pl.Float64),
        match_weight=pl.col("match_weight").cast(pl.Float64),
        weights=pl.struct([expr.round(3).alias(name) for name, expr in weight_of])
        .struct.json_encode(),
    )


def prior_weight(model: dict[str, Any]) -> float:
    """The starting weight of every pair: log2 of the prior odds of a match."""
    p = float(model["probability_two_random_records_match"])
    return math.log2(p / (1 - p))


def model_summary(model: dict[str, Any]) -> str:
    names = [c.get("output_column_name", "?") for c in model.get("comparisons", [])]
    return json.dumps({"comparisons": names,
                       "prior": model.get("probability_two_random_records_match")})
