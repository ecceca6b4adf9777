"""The linkage model's comparisons and blocking rules (splink settings), with default m values.

Each comparison orders its levels from full agreement to full disagreement. Every level
carries a default m (how often the two records of one person fall in it), written from what
registries' records of one person look like: these are the m values when expectation
maximisation cannot learn (no repeated IDs, no duplicates, a tiny file) and EM's starting
point otherwise. u (how often two different people fall in it) is always measured on the file.
The columns the levels read are made by ``engine.prepare``.
"""

from __future__ import annotations

from typing import Any

import polars as pl

# Blocking rules wider than the core ones are used while together they add at most this many
# candidate pairs: wide rules reach more errors on a small file, and would swamp the scoring
# of a large one.
WIDE_PAIRS = 200_000
CORE_PAIRS_PER_RECORD = 10
GENERATION_YEARS = 12  # dates of birth this far apart are a generation apart

JW = "jaro_winkler_similarity"


def _levels(column: str, levels: list[tuple[Any, float]]) -> Any:
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    return CustomComparison(
        output_column_name=column,
        comparison_levels=[cll.NullLevel(column),
                           *(level.configure(m_probability=m) for level, m in levels)])


def _custom(sql: str, label: str) -> Any:
    import splink.comparison_level_library as cll

    return cll.CustomLevel(sql, label_for_charts=label)


def given_name() -> Any:
    import splink.comparison_level_library as cll

    return _levels("given_name", [
        (cll.ExactMatchLevel("given_name").configure(tf_adjustment_column="given_name"), 0.78),
        (_custom('"given_canon_l" = "given_canon_r"', "same name or nickname"), 0.05),
        # The last words must also look alike: siblings' names often share a first word
        # (Van An and Van Nam, Thi Hoa and Thi Hang, Maria Jose and Maria Luisa).
        (_custom(f'{JW}("given_name_l", "given_name_r") >= 0.92 AND {LAST_ALIKE}',
                 "similar spelling"), 0.06),
        (_sounds_alike("given_name", "given_ph", also=LAST_ALIKE), 0.03),
        # One given name is a word of the other (Maria Jose and Maria; Van An and An).
        (_custom('"given_name_l" = "given_first_r" OR "given_name_l" = "given_last_r" '
                 'OR "given_name_r" = "given_first_l" OR "given_name_r" = "given_last_l"',
                 "a given name in common"), 0.02),
        (_swapped(), 0.02),
        (cll.JaroWinklerLevel("given_name", 0.7).configure(
            label_for_charts="looks a little alike"), 0.02),
        (cll.ElseLevel(), 0.02),
    ])


def surname() -> Any:
    import splink.comparison_level_library as cll

    return _levels("surname", [
        (cll.ExactMatchLevel("surname").configure(tf_adjustment_column="surname"), 0.76),
        (cll.JaroWinklerLevel("surname", 0.92), 0.07),
        # Two surnames against one (a dropped second surname), or their order changed.
        (_custom('"surname_first_l" = "surname_first_r" OR "surname_last_l" = "surname_last_r" '
                 'OR "surname_first_l" = "surname_last_r" '
                 'OR "surname_last_l" = "surname_first_r"', "a surname in common"), 0.07),
        (_sounds_alike("surname", "surname_ph"), 0.03),
        (_swapped(), 0.02),
        (cll.JaroWinklerLevel("surname", 0.7).configure(
            label_for_charts="looks a little alike"), 0.02),
        (cll.ElseLevel(), 0.03),
    ])


LAST_ALIKE = f'{JW}("given_last_l", "given_last_r") >= 0.8'


def _sounds_alike(column: str, key: str, also: str = "") -> Any:
    # Short names (Thu, Thao; Lan, Linh) share a phonetic key without sounding alike: the
    # spelling must also be close.
    return _custom(f'"{key}_l" = "{key}_r" AND {JW}("{column}_l", "{column}_r") >= 0.8'
                   + (f" AND {also}" if also else ""), "sounds alike")


def _swapped() -> Any:
    # One cross pair the same, the other close: a swap often comes with a typo. One cross
    # pair alone is a family (a parent's name given to a child).
    return _custom(f'({JW}("given_name_l", "surname_r") >= 0.95 AND '
                   f'{JW}("surname_l", "given_name_r") >= 0.85) OR '
                   f'({JW}("surname_l", "given_name_r") >= 0.95 AND '
                   f'{JW}("given_name_l", "surname_r") >= 0.85)',
                   "given name and surname swapped")


def date_of_birth() -> Any:
    import splink.comparison_level_library as cll

    near = ('"date_of_birth_l" = "dob_swapped_r" '
            'OR damerau_levenshtein("date_of_birth_l", "date_of_birth_r") <= 1 '
            'OR (abs("dob_year_l" - "dob_year_r") = 1 '
            'AND substr("date_of_birth_l", 6, 5) = substr("date_of_birth_r", 6, 5))')
    return _levels("date_of_birth", [
        (cll.ExactMatchLevel("date_of_birth"), 0.875),
        (_custom(near, "near miss: one digit, day and month swapped, one year off"), 0.1),
        (_custom(f'abs("dob_year_l" - "dob_year_r") < {GENERATION_YEARS}',
                 f"under {GENERATION_YEARS} years apart"), 0.02),
        (cll.ElseLevel().configure(label_for_charts="a generation apart"), 0.005),
    ])


def exact(column: str, m: float) -> Any:
    import splink.comparison_level_library as cll

    return _levels(column, [(cll.ExactMatchLevel(column), m), (cll.ElseLevel(), 1 - m)])


def area() -> Any:
    import splink.comparison_level_library as cll

    return _levels("area", [
        (cll.ExactMatchLevel("area"), 0.78),
        # A mistyped area code (one character, two swapped), in codes long enough for one
        # character not to be another area: u says how often different people's codes do it.
        (_custom('length("area_l") >= 4 AND damerau_levenshtein("area_l", "area_r") <= 1',
                 "typo"), 0.04),
        (cll.ElseLevel(), 0.18),  # people move
    ])


def residence() -> Any:
    """Address and area as one comparison: the area adds nothing once the address agrees (two
    comparisons would count one household twice)."""
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    same_area = '"area_l" = "area_r"'
    similar = ('(levenshtein("address_l", "address_r") <= 2 OR '
               f'{JW}("address_l", "address_r") >= 0.85)')
    levels = [
        (cll.And(cll.ExactMatchLevel("address"), cll.ExactMatchLevel("area")),
         "same address and area", 0.58),
        (cll.ExactMatchLevel("address"), "same address", 0.03),
        (cll.CustomLevel(f"{similar} AND {same_area}"), "similar address, same area", 0.1),
        (cll.CustomLevel(same_area), "same area", 0.08),
        (cll.CustomLevel(similar), "similar address, another area", 0.02),
        (cll.CustomLevel('length("area_l") >= 4 AND '
                         'damerau_levenshtein("area_l", "area_r") <= 1'), "area typo", 0.02),
        (cll.ElseLevel(), "moved", 0.17),
    ]
    return CustomComparison(output_column_name="residence", comparison_levels=[
        cll.And(cll.NullLevel("address"), cll.NullLevel("area")).configure(is_null_level=True),
        *(level.configure(label_for_charts=label, m_probability=m) for level, label, m in levels)])


# Starting values; EM on pairs with the same names learns how often one person's records carry
# different IDs in this file (the block on the ID itself cannot: there they never differ), and
# engine.ID_M_BOUNDS keeps a typo from becoming a veto and a different ID from becoming nothing.
ID_M = {"exact": 0.95, "typo": 0.048, "different": 0.002}


def national_id() -> Any:
    import splink.comparison_level_library as cll

    return _levels("national_id", [
        (cll.ExactMatchLevel("national_id"), ID_M["exact"]),
        (cll.DamerauLevenshteinLevel("national_id", 1).configure(label_for_charts="typo"),
         ID_M["typo"]),
        (cll.ElseLevel().configure(label_for_charts="different"), ID_M["different"])])


def comparisons(*, has_national_id: bool, has_address: bool) -> list[Any]:
    found = [given_name(), surname(), date_of_birth(), exact("sex", 0.97),
             residence() if has_address else area()]
    if has_national_id:
        found.insert(0, national_id())
    return found


def blocking_rules(frame: pl.DataFrame, *, has_national_id: bool,
                   has_address: bool) -> list[Any]:
    """The core rules, then the wide ones the file can afford (see WIDE_PAIRS)."""
    from splink import block_on

    keys: list[tuple[str, ...]] = [("national_id",)] if has_national_id else []
    keys += [("given_name", "surname"), ("date_of_birth", "surname_ph"),
             ("date_of_birth", "given_ph"), ("date_of_birth", "area"), ("name_key", "area"),
             ("name_key", "date_of_birth")]
    if has_address:
        keys.append(("address", "area"))
    # A rule that would compare more than CORE_PAIRS_PER_RECORD pairs per record (a name
    # thousands share) is narrowed to one area.
    cap = max(WIDE_PAIRS, CORE_PAIRS_PER_RECORD * frame.height)
    core: list[Any] = [block_on(*(columns if _pairs(frame, columns) <= cap or "area" in columns
                                  else (*columns, "area"))) for columns in keys]
    # A missing date of birth: the names alone, whatever the area.
    core += ['l."name_key" = r."name_key" AND l."date_of_birth" IS NULL',
             'l."name_key" = r."name_key" AND r."date_of_birth" IS NULL']
    wide = [("date_of_birth",), ("name_key",), ("surname_ph", "area"), ("given_ph", "area"),
            ("surname_ph", "given_first")]
    if has_address:
        wide.append(("address",))
    budget = WIDE_PAIRS
    for columns in wide:
        pairs = _pairs(frame, columns)
        if pairs <= budget:
            core.append(block_on(*columns))
            budget -= pairs
    return core


def _pairs(frame: pl.DataFrame, columns: tuple[str, ...]) -> int:
    """How many pairs a blocking rule on these columns makes (nulls never block)."""
    sizes = frame.drop_nulls(list(columns)).group_by(list(columns)).len()
    return int(sizes.select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item() or 0)


def level_values(model: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each comparison's levels by label -> the value splink gives them (the first level
    after the null one is the highest, the last is 0)."""
    values = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        values[comparison["output_column_name"]] = {
            str(lv.get("label_for_charts")): len(levels) - 1 - i for i, lv in enumerate(levels)}
    return values
