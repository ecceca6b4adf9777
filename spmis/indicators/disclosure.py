"""Statistical disclosure control for a public release of a run's values.

Primary suppression (the threshold rule): a cell counting persons is unsafe when its
numerator or denominator is between 1 and k - 1. Secondary suppression: the values hang
together by additive relations (a total and its disjoint parts: women and men, the three age
bands, the two disability groups, an area and the areas directly below it, each within one
indicator and scheme); a relation with exactly one suppressed cell would give it away by
subtraction, so its smallest other non-zero cell is suppressed too, until no relation has
exactly one. Set-wise in Polars; a few rounds.

Not covered: combinations of several relations (a linear solver would be needed, as in
tau-ARGUS), differencing between releases or overlapping tables. Process indicators (counts
of submissions, flags, payments) are not about persons and are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from spmis.indicators.engine import KEYS

# Dimensions whose parts add up to their total (_T): every value but the total is a part, so
# the age bands are whatever the national parameters made them.
ADDITIVE = ("sex", "age_band", "disability")
FREE, PRIMARY, SECONDARY = "F", "C", "D"  # SDMX CONF_STATUS: free, confidential, secondary


def suppress(values: pl.DataFrame, parents: Mapping[str, str | None], k: int,
             persons: set[str]) -> pl.DataFrame:
    """``values`` with ``conf_status`` (F, C or D); suppressed cells lose their numerator,
    denominator and value. ``parents`` maps area codes to their parent's; ``persons`` are the
    indicators that count persons (the others are left free)."""
    if k < 2:
        return values.with_columns(conf_status=pl.lit(FREE))
    cells = values.with_row_index("cell").with_columns(
        counted=pl.col("indicator").is_in(list(persons)))
    unsafe = pl.col("counted") & (pl.col("numerator").is_between(1, k - 1)
                                  | pl.col("denominator").is_between(1, k - 1))
    cells = cells.with_columns(conf=pl.when(unsafe).then(pl.lit(PRIMARY))
                               .otherwise(pl.lit(FREE)))
    primary = cells["conf"].to_numpy() == PRIMARY
    secondary = _secondary(cells, _relations(cells.filter("counted"), parents), primary)
    cells = cells.with_columns(conf=pl.when(pl.Series(secondary)).then(pl.lit(SECONDARY))
                               .otherwise("conf"))
    hidden = pl.col("conf") != FREE
    return cells.with_columns(
        numerator=pl.when(hidden).then(None).otherwise("numerator"),
        denominator=pl.when(hidden).then(None).otherwise("denominator"),
        value=pl.when(hidden).then(None).otherwise("value"),
    ).rename({"conf": "conf_status"}).drop("cell", "counted")


def _relations(cells: pl.DataFrame, parents: Mapping[str, str | None]) -> pl.DataFrame:
    """(cell, relation): which additive relations each cell belongs to, as total or part."""
    found = []
    for dim in ADDITIVE:
        rest = [key for key in KEYS if key != dim and key != "area_level"]
        found.append(cells.select(
            "cell", relation=pl.concat_str([pl.lit(dim), *rest], separator="|")))
    rest = [key for key in KEYS if key not in ("area_code", "area_level")]
    parent = pl.col("area_code").replace_strict(dict(parents), default=None,
                                                return_dtype=pl.String)
    as_total = cells.select("cell", relation=pl.concat_str(
        [pl.lit("area"), pl.col("area_code"), *rest], separator="|"))
    as_part = cells.filter(parent.is_not_null()).select("cell", relation=pl.concat_str(
        [pl.lit("area"), parent, *rest], separator="|"))
    # Categorical: each relation gets an integer code without sorting millions of strings.
    return pl.concat([*found, as_total, as_part]).with_columns(
        relation=pl.col("relation").cast(pl.Categorical).to_physical().cast(pl.Int64))


def _secondary(cells: pl.DataFrame, members: pl.DataFrame,
               hidden: np.ndarray) -> np.ndarray:
    """Cells to suppress besides ``hidden``: round after round, each relation with exactly
    one hidden cell gets its smallest free non-zero cell hidden too. Arrays over the
    memberships, sorted once by relation and size, so a round is a few vectorised passes."""
    size = (cells["numerator"].fill_null(0) + cells["denominator"].fill_null(0)).to_numpy()
    relation = members["relation"].to_numpy()
    cell = members["cell"].cast(pl.Int64).to_numpy()  # cells are numbered by row
    order = np.lexsort((cell, size[cell], relation))
    relation, cell = relation[order], cell[order]
    nonzero = size[cell] > 0
    members_per_relation = np.bincount(relation)
    hidden = hidden.copy()
    extra = np.zeros_like(hidden)
    while True:
        per_relation = np.bincount(relation, weights=hidden[cell],
                                   minlength=len(members_per_relation))
        exposed = (per_relation == 1) & (members_per_relation > 1)
        free = exposed[relation] & ~hidden[cell] & nonzero
        if not free.any():
            return extra
        _, first = np.unique(relation[free], return_index=True)  # the smallest: sorted
        chosen = cell[free][first]
        hidden[chosen] = extra[chosen] = True
