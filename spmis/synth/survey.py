"""A synthetic household survey with known truth, for the demo, tests and benchmarks.

A population of households in clusters (enumeration areas) within strata; per-capita welfare
is lognormal with stratum, cluster and household effects; a benefit goes to a household with a
probability that falls with its welfare (so some poor households are missed and some better-off
ones get it). Two-stage sample: clusters at random within each stratum, then a fixed number of
households in each; the weights are the inverse selection probabilities. One row per person.
Everything is drawn set-wise from one seeded generator (NumPy and Polars, no loops over rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

STRATA = 4
HOUSEHOLDS_PER_SAMPLED_CLUSTER = 10
CLUSTER_SIZE = (60, 141)  # households in a cluster, low inclusive, high exclusive
MEDIAN_WELFARE = 100.0  # per capita per month, in the country's currency
BENEFIT_PER_HOUSEHOLD = 60.0  # per month; the file carries it per capita
COLUMNS = ["hhid", "person", "stratum", "psu", "hh_size", "weight", "hh_weight", "welfare",
           "benefit", "receives"]


@dataclass(frozen=True)
class SyntheticSurvey:
    sample: pl.DataFrame  # one row per sampled person, the file's columns
    population: pl.DataFrame | None  # every person, same columns (weight 1), when asked for


def survey_synthesise(*, households: int = 2_000, seed: int = 1, fraction: float = 0.05,
                      with_population: bool = True) -> SyntheticSurvey:
    """About ``households`` sampled households, a ``fraction`` of the population's."""
    rng = np.random.default_rng(seed)
    sampled_per_stratum = max(2, math.ceil(households / STRATA / HOUSEHOLDS_PER_SAMPLED_CLUSTER))
    mean_size = sum(CLUSTER_SIZE) / 2
    per_stratum = max(sampled_per_stratum, math.ceil(
        sampled_per_stratum * HOUSEHOLDS_PER_SAMPLED_CLUSTER / (fraction * mean_size)))
    clusters = _clusters(rng, per_stratum, sampled_per_stratum)
    if with_population:
        people = _persons(_households(rng, clusters, pl.col("size")))
        sample = _sample(people, clusters)
        population = people.with_columns(weight=pl.lit(1.0), hh_weight=pl.lit(1.0))
        return SyntheticSurvey(sample.select(COLUMNS), population.select(COLUMNS))
    chosen = clusters.filter("sampled")
    people = _persons(_households(rng, chosen, pl.lit(HOUSEHOLDS_PER_SAMPLED_CLUSTER)))
    return SyntheticSurvey(_weighted(people, clusters).select(COLUMNS), None)


def _clusters(rng: np.random.Generator, per_stratum: int, sampled: int) -> pl.DataFrame:
    count = STRATA * per_stratum
    stratum = np.repeat(np.arange(1, STRATA + 1), per_stratum)
    priority = rng.random(count)
    return pl.DataFrame({
        "psu": np.arange(1, count + 1), "stratum": stratum,
        "size": rng.integers(*CLUSTER_SIZE, count),
        "effect": rng.normal(0.0, 0.3, count) + np.array([0.4, 0.1, -0.2, -0.4])[stratum - 1],
        "priority": priority,
    }).with_columns(sampled=pl.col("priority").rank("ordinal").over("stratum") <= sampled)


def _households(rng: np.random.Generator, clusters: pl.DataFrame, each: pl.Expr
                ) -> pl.DataFrame:
    counts = clusters.select(each.alias("n"))["n"].to_numpy()
    index = pl.Series(np.repeat(np.arange(clusters.height), counts))
    homes = clusters.select("psu", "stratum", "effect")[index]
    n = homes.height
    size = np.minimum(1 + rng.poisson(3.2, n), 10)
    log_welfare = (math.log(MEDIAN_WELFARE) + homes["effect"].to_numpy()
                   - 0.15 * np.log(size) + rng.normal(0.0, 0.6, n))
    poorness = math.log(MEDIAN_WELFARE) - log_welfare
    receives = rng.random(n) < 1 / (1 + np.exp(-(-0.9 + 2.0 * poorness)))
    return homes.with_columns(
        hhid=pl.format("H{}", pl.int_range(1, n + 1).cast(pl.String).str.zfill(7)),
        hh_size=pl.Series(size, dtype=pl.Int64),
        welfare=pl.Series(np.round(np.exp(log_welfare), 2)),
        receives=pl.Series(receives.astype(np.int64)),
        priority=pl.Series(rng.random(n)))


def _persons(homes: pl.DataFrame) -> pl.DataFrame:
    """One row per member; members share their household's welfare and benefit."""
    return homes.with_columns(
        benefit=(pl.col("receives") * BENEFIT_PER_HOUSEHOLD / pl.col("hh_size")).round(2),
        person=pl.int_ranges(1, pl.col("hh_size") + 1)).explode("person")


def _sample(people: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    homes = people.filter(pl.col("person") == 1).join(
        clusters.filter("sampled").select("psu"), on="psu", how="semi")
    chosen = homes.filter(pl.col("priority").rank("ordinal").over("psu")
                          <= HOUSEHOLDS_PER_SAMPLED_CLUSTER).select("hhid")
    return _weighted(people.join(chosen, on="hhid", how="semi", maintain_order="left"),
                     clusters)


def _weighted(people: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """Weight = (clusters in the stratum / sampled) x (households in the cluster / sampled)."""
    first = clusters.group_by("stratum").agg(
        (pl.len() / pl.col("sampled").sum()).alias("first"))
    second = clusters.select("psu", (pl.col("size") / HOUSEHOLDS_PER_SAMPLED_CLUSTER)
                             .alias("second"))
    weighted = people.join(first, on="stratum", maintain_order="left").join(
        second, on="psu", maintain_order="left")
    weight = (pl.col("first") * pl.col("second")).round(4)
    return weighted.with_columns(weight=weight, hh_weight=weight)


def survey_write(sample: pl.DataFrame, directory: Path, stem: str = "survey"
                 ) -> dict[str, Path]:
    """The same rows as CSV, Stata (.dta) and SPSS (.sav); returns the paths by extension."""
    import pyreadstat

    directory.mkdir(parents=True, exist_ok=True)
    paths = {ext: directory / f"{stem}.{ext}" for ext in ("csv", "dta", "sav")}
    sample.write_csv(paths["csv"])
    pyreadstat.write_dta(sample, str(paths["dta"]))
    pyreadstat.write_sav(sample, str(paths["sav"]))
    return paths
