"""Survey-based inclusion and exclusion errors, set-based in Polars (no Django here).

Household-survey microdata with weights are read from CSV, Stata (.dta) or SPSS (.sav); persons
are ranked by per-capita welfare into weighted quintiles; every figure (coverage and benefit
incidence by quintile, exclusion and inclusion errors against a stated benchmark) is a ratio of
two weighted totals, estimated with a Taylor-linearised variance: PSUs within strata, taken as
drawn with replacement (see docs/guide/indicators.md).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from spmis.core.errors import ValidationFailed

FORMATS = {".csv": "CSV", ".dta": "Stata", ".sav": "SPSS"}
QUINTILES = 5
CONFIDENCE = 0.95
SHOWN_ROWS = 5  # rows named in an error message, at most
EPS = 1e-9  # rounding slack when a person's rank share falls exactly on a cut-off


@dataclass(frozen=True)
class SurveyColumns:
    """Which column of the file plays which role. With ``household_size``, ``weight`` is a
    household weight and each row stands for that many persons."""

    weight: str
    welfare: str
    benefit: str
    household_size: str | None = None
    household: str | None = None
    strata: str | None = None
    psu: str | None = None

    def named(self) -> dict[str, str]:
        return {role: name for role, name in vars(self).items() if name}


@dataclass(frozen=True)
class SurveyBenchmark:
    """Who the target group is: the poorest ``value`` percent of persons by per-capita welfare
    (kind ``share``), or the persons whose per-capita welfare is below ``value`` (``line``)."""

    kind: str
    value: float

    @classmethod
    def parse(cls, text: str) -> SurveyBenchmark:
        spec = text.strip().lower()
        if spec == "q1":
            return cls("share", 20.0)
        if spec.startswith("bottom-") and spec[7:].isdigit() and 0 < int(spec[7:]) < 100:
            return cls("share", float(spec[7:]))
        if spec.startswith("line="):
            amount = _number(spec[5:])
            if amount is not None and amount > 0:
                return cls("line", amount)
        raise ValidationFailed(f"Target {text!r} is not understood: write q1 (the poorest "
                               "quintile), bottom-P (the poorest P percent, e.g. bottom-40) or "
                               "line=AMOUNT (a poverty line in the welfare variable's units).")

    @property
    def code(self) -> str:
        if self.kind == "line":
            return f"line={self.value:g}"
        return "q1" if self.value == 20 else f"bottom-{self.value:g}"

    def describe(self) -> str:
        if self.kind == "line":
            return f"persons with per-capita welfare below {self.value:,.2f}"
        return (f"the poorest {self.value:g}% of persons by per-capita welfare"
                + (" (the poorest quintile)" if self.value == 20 else ""))


@dataclass(frozen=True)
class Estimate:
    """One ratio of weighted totals: value = numerator / denominator, with its 95% CI and the
    number of respondents in the denominator."""

    measure: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    numerator: float
    denominator: float


@dataclass(frozen=True)
class SurveyResult:
    benchmark: SurveyBenchmark
    columns: dict[str, str]
    estimates: list[Estimate]
    respondents: int
    persons: float
    amounts: bool  # the benefit column holds amounts (so incidence is computed)
    variance: str
    file_name: str = ""
    file_sha256: str = ""
    by_measure: dict[str, Estimate] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.by_measure.update({e.measure: e for e in self.estimates})

    def get(self, measure: str) -> Estimate:
        return self.by_measure[measure]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- reading ------------------------------------------------------------------------------


def survey_read(path: Path, columns: SurveyColumns) -> pl.DataFrame:
    """The file's rows as ``row, weight (per person), welfare, benefit, household, stratum,
    psu``; refuses the whole file, naming every column and row problem, if anything is wrong."""
    raw = _read_raw(path)
    missing = [f"{role} column {name!r}" for role, name in columns.named().items()
               if name not in raw.columns]
    if missing:
        raise ValidationFailed(f"{path.name}: no {', no '.join(missing)} in the file "
                               f"(its columns: {', '.join(raw.columns)}).")
    raw = raw.with_row_index("row", offset=1)
    numbers = {"weight": columns.weight, "welfare": columns.welfare, "benefit": columns.benefit}
    if columns.household_size:
        numbers["household_size"] = columns.household_size
    frame = raw.select("row", *[_as_number(raw, name).alias(role)
                                for role, name in numbers.items()],
                       *[_as_code(raw, name).alias(role) for role, name in
                         (("household", columns.household), ("stratum", columns.strata),
                          ("psu", columns.psu)) if name])
    _refuse_problems(path, frame, numbers, columns)
    weight = pl.col("weight") * pl.col("household_size") if columns.household_size \
        else pl.col("weight")
    return frame.with_columns(weight=weight)


def _read_raw(path: Path) -> pl.DataFrame:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValidationFailed(f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
                               "give a .csv, .dta (Stata) or .sav (SPSS) file.")
    if not path.is_file():
        raise ValidationFailed(f"{path.name}: no such file.")
    if path.stat().st_size == 0:
        raise ValidationFailed(f"{path.name}: the file is empty.")
    try:
        frame = _read_csv(path) if kind == "CSV" else _read_stat(path, kind)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{path.name}: cannot read it as {kind} ({exc}).") from exc
    if frame.height == 0:
        raise ValidationFailed(f"{path.name}: the file has no data rows.")
    return frame


def _read_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _read_stat(path: Path, kind: str) -> pl.DataFrame:
    import pyreadstat

    read = pyreadstat.read_dta if kind == "Stata" else pyreadstat.read_sav
    try:
        frame, _meta = read(str(path), output_format="polars")
    except Exception as exc:  # pyreadstat raises bare Exception subclasses for bad files
        raise ValidationFailed(f"{path.name}: cannot read it as {kind} ({exc}).") from exc
    return frame


def _as_number(raw: pl.DataFrame, name: str) -> pl.Expr:
    column = pl.col(name)
    if raw.schema[name] == pl.String:
        column = column.str.strip_chars().cast(pl.Float64, strict=False)
    return column.cast(pl.Float64, strict=False)


def _as_code(raw: pl.DataFrame, name: str) -> pl.Expr:
    """An identifier as text; whole numbers stored as floats (Stata, SPSS) lose their .0."""
    column = pl.col(name)
    if raw.schema[name].is_float() and raw.select(
            (column.is_null() | (column == column.round(0))).all()).item():
        column = column.cast(pl.Int64)
    return column.cast(pl.String)


def _refuse_problems(path: Path, frame: pl.DataFrame, numbers: dict[str, str],
                     columns: SurveyColumns) -> None:
    problems = []
    for role, name in numbers.items():
        problems.append(_rows(frame, ~pl.col(role).is_finite().fill_null(False),
                              f"column {name!r} ({role}) is missing or not a number"))
    problems.append(_rows(frame, pl.col("weight") < 0, f"column {columns.weight!r} (weight) "
                                                       "is negative"))
    problems.append(_rows(frame, pl.col("benefit") < 0,
                          f"column {columns.benefit!r} (benefit) is negative"))
    if columns.household_size:
        problems.append(_rows(frame, pl.col("household_size") <= 0,
                              f"column {columns.household_size!r} (household size) is not "
                              "positive"))
    for role in ("household", "stratum", "psu"):
        if role in frame.columns:
            problems.append(_rows(frame, pl.col(role).is_null(),
                                  f"column {columns.named()[_ROLE[role]]!r} ({role}) is empty"))
    found = [p for p in problems if p]
    if not found and frame["weight"].sum() <= 0:
        found.append("the weights sum to zero")
    if found:
        raise ValidationFailed(f"{path.name}: " + "; ".join(found) + ". Nothing was stored.")


_ROLE = {"household": "household", "stratum": "strata", "psu": "psu"}


def _rows(frame: pl.DataFrame, bad: pl.Expr, what: str) -> str:
    rows = frame.filter(bad.fill_null(False))["row"]
    if rows.len() == 0:
        return ""
    shown = ", ".join(str(r) for r in rows.head(SHOWN_ROWS).to_list())
    more = f" and {rows.len() - SHOWN_ROWS} more" if rows.len() > SHOWN_ROWS else ""
    return f"{what} in row{'s' if rows.len() > 1 else ''} {shown}{more}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- quintiles, target group, recipients ------------------------------------------------


def with_ranks(frame: pl.DataFrame, benchmark: SurveyBenchmark) -> pl.DataFrame:
    """Adds ``below`` (the weighted share of persons strictly poorer), ``quintile`` (1 the
    poorest), ``target`` (in the target group) and ``recipient`` (benefit > 0); rows come back
    ordered by welfare, ties in file order.

    Persons with the same welfare share one rank, so ties always fall in the same quintile:
    quintile k holds the persons with k-1 <= 5 x below < k."""
    ordered = frame.sort("welfare", maintain_order=True)
    weight = ordered["weight"].to_numpy()
    welfare = ordered["welfare"].to_numpy()
    before = np.concatenate(([0.0], np.cumsum(weight)[:-1]))  # in order: same sums every time
    first = np.concatenate(([True], welfare[1:] != welfare[:-1]))
    below = before[first][np.cumsum(first) - 1] / max(float(np.sum(weight)), 1e-300)
    quintile = pl.lit(1, pl.Int8)
    for k in range(1, QUINTILES):
        quintile = quintile + (pl.col("below") * 100 >= 100 * k / QUINTILES - EPS).cast(pl.Int8)
    target = (pl.col("welfare") < benchmark.value) if benchmark.kind == "line" \
        else (pl.col("below") * 100 < benchmark.value - EPS)
    return ordered.with_columns(below=pl.Series(below)).with_columns(
        quintile=quintile, target=target, recipient=pl.col("benefit") > 0)


def benefit_is_amount(frame: pl.DataFrame) -> bool:
    """A benefit column holding only 0 and 1 is a receipt indicator; anything else, amounts."""
    return bool(frame.select((~pl.col("benefit").is_in([0.0, 1.0])).any()).item())


def measures(amounts: bool) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Every figure as (numerator, denominator) per respondent, before weighting."""
    one = pl.lit(1.0)
    got = pl.col("recipient").cast(pl.Float64)
    target = pl.col("target").cast(pl.Float64)
    rows: dict[str, tuple[pl.Expr, pl.Expr]] = {
        "EE": (target * (1 - got), target),
        "IE": (got * (1 - target), got),
        "COVERAGE": (got, one),
    }
    for k in range(1, QUINTILES + 1):
        inside = (pl.col("quintile") == k).cast(pl.Float64)
        rows[f"POPULATION_Q{k}"] = (inside, one)
        rows[f"COVERAGE_Q{k}"] = (got * inside, inside)
        if amounts:
            rows[f"INCIDENCE_Q{k}"] = (pl.col("benefit") * inside, pl.col("benefit"))
    return rows


# --- ratio estimates with Taylor-linearised variance ------------------------------------


def with_design(frame: pl.DataFrame) -> pl.DataFrame:
    """``stratum`` and ``psu`` for the variance: the given ones; without PSUs each household
    (or, without households, each respondent) is its own PSU; without strata, one stratum."""
    psu = pl.col("psu") if "psu" in frame.columns else \
        pl.col("household") if "household" in frame.columns else pl.col("row").cast(pl.String)
    stratum = pl.col("stratum") if "stratum" in frame.columns else pl.lit("")
    return frame.with_columns(stratum=stratum, psu=psu)


def ratios(frame: pl.DataFrame, wanted: dict[str, tuple[pl.Expr, pl.Expr]]
           ) -> tuple[list[Estimate], int]:
    """Every ratio with its 95% CI (Student's t on the design's degrees of freedom: PSUs minus
    strata) clipped to [0, 1]; and those degrees of freedom."""
    parts = frame.select(
        "weight", _code(pl.struct("stratum", "psu")).alias("psu"),
        _code(pl.col("stratum")).alias("stratum"),
        *[y.cast(pl.Float64).alias(f"y_{m}") for m, (y, _) in wanted.items()],
        *[x.cast(pl.Float64).alias(f"x_{m}") for m, (_, x) in wanted.items()])
    design = _Design(parts["psu"].to_numpy(), parts["stratum"].to_numpy())
    weight = parts["weight"].to_numpy()
    t = _t_quantile(design.df)
    found = []
    for measure in wanted:  # a handful of measures; each is vectorised over respondents
        x = parts[f"x_{measure}"].to_numpy()
        wy, wx = weight * parts[f"y_{measure}"].to_numpy(), weight * x
        big_y, big_x = float(np.sum(wy)), float(np.sum(wx))
        variance = design.variance((wy - (big_y / big_x) * wx) / big_x) if big_x else 0.0
        found.append(_estimate(measure, big_y, big_x, int(np.count_nonzero(x)), variance, t))
    return found, design.df


def _code(key: pl.Expr) -> pl.Expr:
    """0, 1, 2, ... for the distinct values of ``key`` (by their fixed-seed hash: the same
    codes for the same values every time, whatever the rows' order)."""
    return key.hash(seed=0).rank("dense").cast(pl.Int64) - 1


def _t_quantile(df: int) -> float | None:
    """Student's t for a two-sided 95% interval; none without degrees of freedom."""
    from scipy.special import stdtrit  # lighter to import than scipy.stats

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2)) if df >= 1 else None


class _Design:
    """PSUs within strata: Var = sum over strata of n_h / (n_h - 1) x sum over the stratum's
    PSUs of (z_hj - mean z_h)^2, z_hj the PSU's total of the linearised values."""

    def __init__(self, psu: np.ndarray, stratum: np.ndarray) -> None:
        self.psu = psu
        self.psu_stratum = np.zeros(int(psu.max()) + 1, dtype=np.int64)
        self.psu_stratum[psu] = stratum
        self.n_h = np.bincount(self.psu_stratum).astype(np.float64)
        self.factor = np.where(self.n_h > 1, self.n_h / np.maximum(self.n_h - 1, 1), 0.0)
        self.df = len(self.psu_stratum) - len(self.n_h)

    def variance(self, z: np.ndarray) -> float:
        totals = np.bincount(self.psu, weights=z, minlength=len(self.psu_stratum))
        mean = np.bincount(self.psu_stratum, weights=totals) / self.n_h
        squares = np.bincount(self.psu_stratum,
                              weights=(totals - mean[self.psu_stratum]) ** 2)
        return float(np.sum(self.factor * squares))


def _estimate(measure: str, big_y: float, big_x: float, n: int, variance: float,
              t: float | None) -> Estimate:
    if not big_x:
        return Estimate(measure, None, None, None, n, big_y, big_x)
    value = big_y / big_x
    if t is None:
        return Estimate(measure, value, None, None, n, big_y, big_x)
    half = t * math.sqrt(max(variance, 0.0))
    return Estimate(measure, value, max(0.0, value - half), min(1.0, value + half), n, big_y,
                    big_x)


# --- the whole computation --------------------------------------------------------------


def survey_estimates(frame: pl.DataFrame, benchmark: SurveyBenchmark,
                     columns: dict[str, str] | None = None) -> SurveyResult:
    """Every estimate for rows as ``survey_read`` returns them."""
    amounts = benefit_is_amount(frame)
    ranked = with_design(with_ranks(frame, benchmark))
    estimates, df = ratios(ranked, measures(amounts))
    return SurveyResult(benchmark=benchmark, columns=columns or {}, estimates=estimates,
                        respondents=frame.height, persons=float(frame["weight"].sum()),
                        amounts=amounts, variance=_variance_text(frame, df))


def _variance_text(frame: pl.DataFrame, df: int) -> str:
    if "psu" in frame.columns:
        unit = "PSUs within strata" if "stratum" in frame.columns else "PSUs"
        how = f"{unit}, taken as drawn with replacement"
    elif "household" in frame.columns:
        how = "households as clusters" + (" within strata" if "stratum" in frame.columns else "")
    else:
        how = "each respondent on its own" + (" within strata" if "stratum" in frame.columns
                                             else "")
    return f"Taylor linearisation of each ratio; {how}; t with {df} degrees of freedom"


def survey_compute(path: Path, columns: SurveyColumns, benchmark: SurveyBenchmark
                   ) -> SurveyResult:
    """Read the file, compute every estimate, and say which file (name and SHA-256) it was."""
    result = survey_estimates(survey_read(path, columns), benchmark, columns.named())
    return SurveyResult(benchmark=result.benchmark, columns=result.columns,
                        estimates=result.estimates, respondents=result.respondents,
                        persons=result.persons, amounts=result.amounts,
                        variance=result.variance, file_name=path.name,
                        file_sha256=file_sha256(path))
