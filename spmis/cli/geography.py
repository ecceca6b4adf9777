"""`spmis geography …`: the area hierarchy's outlines for maps."""

from __future__ import annotations

from pathlib import Path

import click

from spmis.cli.indicators import setup_django


@click.group()
def geography() -> None:
    """Areas and their boundaries."""


@geography.command("boundaries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--code-field", default="code", show_default=True,
              help="The property (GeoJSON) or attribute (shapefile) holding each area's "
                   "P-code, e.g. ADM2_PCODE.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=None,
              help="Simplify outlines for display to this many degrees (default 0.0005, about "
                   "50 m; 0 keeps every position).")
def boundaries_command(file: Path, code_field: str, tolerance: float | None) -> None:
    """Load area boundaries from FILE: GeoJSON (.geojson, .json) or a shapefile (.shp with its
    .dbf, or a .zip of them), longitude and latitude in WGS84, matched to areas by P-code. The
    whole file is refused, every problem named, if any P-code or polygon is wrong."""
    setup_django()
    from spmis.geography.boundaries import DEFAULT_TOLERANCE
    from spmis.geography.services import boundaries_load

    done = boundaries_load(actor=None, path=file, code_field=code_field,
                           tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance)
    levels = ", ".join(f"level {level}: {n}" for level, n in done.levels.items())
    click.echo(f"Loaded the boundaries of {done.areas} area(s) ({levels}); "
               f"{done.positions_kept:,} of {done.positions_read:,} positions kept for display.")
