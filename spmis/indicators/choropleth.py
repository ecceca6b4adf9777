"""A choropleth of one indicator over the areas of a drill-down, drawn as inline SVG.

Areas are shaded in up to five classes of a colour-blind-safe sequential scale (viridis:
readable with any colour vision and in grey), classes by quantiles of the values shown, the
darkest class the worst end (the lowest for an indicator where higher is better, the highest
where lower is better). An area without a value (no denominator, nothing computed) is hatched
grey with its own legend entry. Geometries are projected on the server
(:func:`spmis.geography.boundaries.svg_paths`): no script, no map library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmis.geography.boundaries import svg_paths
from spmis.indicators.catalogue import Indicator
from spmis.indicators.selectors import Line, display

# Viridis (matplotlib's, by van der Walt and Smith) at 0, 1/8, ..., 1: dark purple to yellow.
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
           "#addc30", "#fde725")
MISSING_FILL = "url(#map-hatch)"
MAX_CLASSES = 5


def palette(k: int) -> list[str]:
    """``k`` colours evenly spread along viridis, darkest first."""
    if k == 1:
        return [VIRIDIS[4]]
    return [VIRIDIS[round(i * (len(VIRIDIS) - 1) / (k - 1))] for i in range(k)]


@dataclass(frozen=True)
class MapArea:
    code: str
    name: str
    link: str
    d: str  # the SVG path
    fill: str
    value: float | None
    text: str  # the value as the table prints it
    note: str  # why there is no value


@dataclass(frozen=True)
class LegendClass:
    fill: str
    low: float
    high: float
    low_text: str
    high_text: str
    areas: int


@dataclass(frozen=True)
class Choropleth:
    view_box: str
    areas: list[MapArea]
    classes: list[LegendClass]  # lowest values first
    missing: int  # areas drawn without a value (hatched)
    unmapped: list[str]  # names of areas in the table that have no outline


def choropleth(lines: list[Line], outlines: dict[int, dict[str, object]],
               indicator: Indicator) -> Choropleth | None:
    """The map of the drill-down's ``lines`` (one per area) whose areas have an outline in
    ``outlines`` (by area id); None when none has."""
    drawn = [line for line in lines if line.area is not None and line.area.pk in outlines]
    if not drawn:
        return None
    drawing = svg_paths({line.area.code: outlines[line.area.pk]  # type: ignore[union-attr]
                         for line in drawn})
    values = np.array([line.total.value for line in drawn if line.total.value is not None])
    distinct = np.unique(values)
    k = min(MAX_CLASSES, len(distinct))
    colours = palette(k) if k else []
    if indicator.direction == "lower":  # the darkest class is the worst: here the highest
        colours = colours[::-1]
    # Class limits at quantiles of the distinct values shown: every class holds some area.
    cuts = np.quantile(distinct, np.linspace(0, 1, k + 1))[1:-1] if k else np.array([])

    def class_of(value: float) -> int:
        return int(np.searchsorted(cuts, value, side="right"))

    members: dict[int, list[float]] = {}
    areas = []
    for line in drawn:
        area = line.area
        assert area is not None
        value = line.total.value
        if value is None:
            fill = MISSING_FILL
            note = (line.total.note or indicator.missing_denominator or "") \
                if line.total.missing else ""
        else:
            c = class_of(value)
            members.setdefault(c, []).append(value)
            fill, note = colours[c], ""
        areas.append(MapArea(area.code, area.name, line.link, drawing.paths[area.code], fill,
                             value, line.total.text if value is not None else "", note))
    classes = [LegendClass(colours[c], min(v), max(v), display(min(v), indicator.unit),
                           display(max(v), indicator.unit), len(v))
               for c, v in sorted(members.items())]
    unmapped = [line.area.name for line in lines
                if line.area is not None and line.area.pk not in outlines]
    return Choropleth(drawing.view_box, areas, classes,
                      sum(1 for a in areas if a.value is None), unmapped)
