"""Set-based loading of DataFrames into the Django database.

PostgreSQL gets COPY; SQLite gets one ``executemany`` per chunk inside the caller's
transaction. Both are the drivers' bulk paths: no per-row ORM objects, no per-row SQL.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import polars as pl
from django.core.management.color import no_style
from django.db import connection, models

CHUNK_ROWS = 200_000
REBUILD_ROWS = 50_000  # above this many rows, SQLite indexes are rebuilt rather than updated
Progress = Callable[[int], None]


def bulk_insert(
    model: type[models.Model], frame: pl.DataFrame, *, progress: Progress | None = None
) -> int:
    """Insert every row of ``frame`` (columns named after the model's db columns)."""
    table = model._meta.db_table
    columns = list(frame.columns)
    _check_columns(model, columns)
    frame = _to_wire_types(frame)
    with connection.cursor() as cursor:
        rebuild = _drop_sqlite_indexes(cursor, table) if frame.height >= REBUILD_ROWS else []
        for chunk in frame.iter_slices(CHUNK_ROWS):
            if connection.vendor == "postgresql":
                _copy(cursor, table, columns, chunk)
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                sql = f'INSERT INTO "{table}" ({_quoted(columns)}) VALUES ({placeholders})'
                cursor.executemany(sql, list(chunk.iter_rows()))
            if progress:
                progress(chunk.height)
        for sql in rebuild:
            cursor.execute(sql)
    return frame.height


def _drop_sqlite_indexes(cursor: Any, table: str) -> list[str]:
    """SQLite builds an index faster once than row by row; drop them now, return their SQL."""
    if connection.vendor != "sqlite":
        return []
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
        "AND sql IS NOT NULL",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in indexes]


def reset_sequences(model_classes: Iterable[type[models.Model]]) -> None:
    """After inserting explicit ids, move PostgreSQL sequences past them (no-op on SQLite)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _copy(cursor: Any, table: str, columns: list[str], chunk: pl.DataFrame) -> None:
    buffer = io.BytesIO()
    # Quoting every non-numeric value lets COPY tell '' (empty text) from NULL.
    chunk.write_csv(buffer, include_header=False, quote_style="non_numeric", null_value="")
    sql = f'COPY "{table}" ({_quoted(columns)}) FROM STDIN WITH (FORMAT csv)'
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    with raw.copy(sql) as copy:
        copy.write(buffer.getvalue())


def _to_wire_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates as ISO text and booleans as 0/1 read the same in both drivers."""
    casts = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Boolean and connection.vendor != "postgresql":
            casts.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(casts) if casts else frame


def _check_columns(model: type[models.Model], columns: list[str]) -> None:
    known = {f.column for f in model._meta.concrete_fields}
    unknown = set(columns) - known
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
