"""Effective-dated national parameters: the guarantees' age groups and the age bands every
figure is disaggregated by. One set read by the indicator catalogue, the engine, the exports
and disclosure control, never constants in code (docs/guide/indicators.md, "Parameters")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = Path(__file__).with_name("parameters.yaml")
GROUPS = ("CHILDREN", "WORKING_AGE", "OLD_AGE")


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class AgeBand:
    label: str
    age_from: int
    age_to: int | None  # inclusive; None: open-ended
    sdmx: str


@dataclass(frozen=True)
class ParameterSet:
    valid_from: dt.date
    source: str
    age_groups: tuple[tuple[str, int, int | None], ...]  # (guarantee, from, to)
    age_bands: tuple[AgeBand, ...]

    def ages_of(self, group: str) -> tuple[int, int | None]:
        for name, low, high in self.age_groups:
            if name == group:
                return low, high
        raise ParameterError(f"No age group {group!r}; groups: {', '.join(GROUPS)}.")


def parameters_in_force(on: dt.date, path: Path | None = None) -> ParameterSet:
    """The version in force on ``on`` (the latest that started on or before it)."""
    versions = [v for v in load(path or configured_file()) if v.valid_from <= on]
    if not versions:
        raise ParameterError(f"No parameters are in force on {on}: the first version starts "
                             f"later.")
    return versions[-1]


def configured_file() -> Path:
    from django.conf import settings

    configured = getattr(settings, "SPMIS_PARAMETERS_FILE", "") if settings.configured else ""
    return Path(configured) if configured else DEFAULT_FILE


@cache
def load(path: Path) -> tuple[ParameterSet, ...]:
    """Every version in ``path``, oldest first; every problem named."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"Cannot read the parameters file {path}: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise ParameterError(f"{path}: a non-empty list of versions is expected.")
    found, problems = [], []
    for i, item in enumerate(raw, 1):
        try:
            found.append(_version(item))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"version {i}: {exc}")
    starts = [v.valid_from for v in found]
    if len(set(starts)) != len(starts):
        problems.append("two versions start on the same day")
    if problems:
        raise ParameterError(f"{path}: " + "; ".join(problems))
    return tuple(sorted(found, key=lambda v: v.valid_from))


def _ages(pair: Any) -> tuple[int, int | None]:
    low, high = pair
    low, high = int(low), None if high is None else int(high)
    if low < 0 or (high is not None and high < low):
        raise ValueError(f"ages {pair} are not a range")
    return low, high


def _band(item: dict[str, Any]) -> AgeBand:
    low, high = _ages(item["ages"])
    return AgeBand(label=str(item["label"]), age_from=low, age_to=high, sdmx=str(item["sdmx"]))


def _version(item: dict[str, Any]) -> ParameterSet:
    start = item["valid_from"]
    if not isinstance(start, dt.date):
        start = dt.date.fromisoformat(str(start))
    groups = item["age_groups"]
    if set(groups) != set(GROUPS):
        raise ValueError(f"age_groups must name exactly {', '.join(GROUPS)}")
    bands = tuple(_band(b) for b in item["age_bands"])
    edges = [b.age_from for b in bands]
    if not bands or edges[0] != 0 or bands[-1].age_to is not None or any(
            b.age_to is None or b.age_to + 1 != nxt for b, nxt in zip(bands, edges[1:],
                                                                       strict=False)):
        raise ValueError("age_bands must follow each other from age 0, the last open-ended")
    if len({b.label for b in bands}) != len(bands):
        raise ValueError("age band labels must differ")
    return ParameterSet(valid_from=start, source=str(item.get("source", "")),
                        age_groups=tuple((g, *_ages(groups[g])) for g in GROUPS),
                        age_bands=bands)
