"""Set-based loading of DataFrames into the Django database.

PostgreSQL gets COPY; SQLite gets one ``executemany`` per chunk inside the caller's
transaction. Both are the drivers' bulk paths: no per-row ORM objects, no per-row SQL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction

CHUNK_ROWS = 200_000
REBUILD_ROWS = 50_000  # above this many rows, SQLite indexes are rebuilt rather than updated
Progress = Callable[[int], None]


@contextmanager
def load_transaction(models_loaded: Iterable[type[models.Model]]) -> Iterator[None]:
    """One transaction for a large load, with foreign keys checked once per table at the end.

    SQLite otherwise looks up every foreign key of every inserted row as it goes; checking
    each table once before commit is faster and as strict (a dangling key rolls all back).
    SQLite only honours the switch outside a transaction, so inside an outer one (tests) the
    row-by-row checks simply stay on. PostgreSQL suspends its foreign keys per table instead.
    """
    deferred = connection.vendor == "sqlite" and not connection.in_atomic_block
    if deferred:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = OFF")
    try:
        with transaction.atomic():
            yield
            if deferred:
                _foreign_key_check([m._meta.db_table for m in models_loaded])
    finally:
        if deferred:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = ON")


def _foreign_key_check(tables: list[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'PRAGMA foreign_key_check("{table}")')
            broken = cursor.fetchone()
            if broken:
                raise IntegrityError(f"{table} row {broken[1]} refers to a missing "
                                     f"{broken[2]} row")


def read_frame(sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """A query's rows straight into a frame with this schema: on PostgreSQL through COPY as
    CSV (no Python tuple per row), elsewhere by fetching the rows."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return pl.DataFrame(cursor.fetchall(), orient="row", schema=schema)
        if all(_dtype(dtype).is_numeric() for dtype in schema.values()):
            # Numbers only: the server writes the CSV as one value (COPY hands over one
            # message per row, and Python's loop over a million of them is most of the time).
            names = [f"c{i}" for i in range(len(schema))]
            line = " || ',' || ".join(f"coalesce({n}::text, '')" for n in names)
            cursor.execute(f"SELECT string_agg({line}, E'\\n') FROM ({sql}) AS "
                           f"spmis_rows({', '.join(names)})", params)
            data = (cursor.fetchone() or [None])[0] or ""
            return pl.read_csv(io.StringIO(data), has_header=False, new_columns=list(schema),
                               schema=schema) if data else pl.DataFrame(schema=schema)
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params or None) as copy:
            data = b"".join(bytes(block) for block in copy)
        return pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(schema),
                           schema=schema)


def _dtype(dtype: Any) -> pl.DataType:
    return dtype() if isinstance(dtype, type) else dtype


def bulk_insert(
    model: type[models.Model],
    frame: pl.DataFrame,
    *,
    progress: Progress | None = None,
    rebuild_indexes: bool = False,
) -> int:
    """Insert every row of ``frame`` (columns named after the model's db columns).

    ``rebuild_indexes`` drops and rebuilds the table's secondary indexes around a large load:
    much faster into an empty table, much slower into a big one (the rebuild covers every row).
    """
    table = model._meta.db_table
    columns = list(frame.columns)
    _check_columns(model, columns)
    frame = _to_wire_types(frame)
    with connection.cursor() as cursor:
        big = rebuild_indexes and frame.height >= REBUILD_ROWS
        rebuild = _suspend_indexes(cursor, table) if big else []
        for chunk in frame.iter_slices(CHUNK_ROWS):
            _insert_rows(cursor, table, columns, chunk)
            if progress:
                progress(chunk.height)
        for sql in rebuild:
            cursor.execute(sql)
    return frame.height


def _suspend_indexes(cursor: Any, table: str) -> list[str]:
    """Drop secondary indexes (and on PostgreSQL foreign keys) before a large load.

    Building an index once, and checking a foreign key with one join, is far cheaper than doing
    either row by row (PostgreSQL otherwise queues one deferred trigger per row). Returns the
    SQL that restores them; the caller runs it in the same transaction, so a failure of the
    load or of a re-added constraint rolls everything back.
    """
    if connection.vendor == "postgresql":
        return _suspend_postgres(cursor, table)
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
        "AND sql IS NOT NULL",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in indexes]


def _suspend_postgres(cursor: Any, table: str) -> list[str]:
    # Unique constraints go too: one index build beats a b-tree insert per row, and re-adding
    # the constraint still refuses the whole load if a duplicate slipped in.
    # Run the checks already queued (small tables loaded before), or ALTER TABLE refuses.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # Index builds sort in memory rather than on disk for this transaction only.
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY contype DESC",
        [table],
    )
    # Unique constraints before foreign keys: they are re-added in that order too.
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    restore = [sql for _, sql in indexes] + [
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ]
    return [*restore, "SET CONSTRAINTS ALL DEFERRED"]


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


def upsert(
    model: type[models.Model],
    frame: pl.DataFrame,
    *,
    scope: dict[str, Any],
    key: str,
    stamp: dict[str, Any],
    created_stamp: dict[str, Any],
    keep: Iterable[str] = (),
) -> pl.DataFrame:
    """Insert new rows and update changed ones, set-wise, keyed by ``key`` within ``scope``.

    ``frame`` holds ``key`` and the data columns; ``scope`` (e.g. ``{"source_id": 3}``) limits
    which existing rows can match. Updated rows get ``stamp`` (e.g. who changed them); new rows
    get ``stamp`` and ``created_stamp``. Columns in ``keep`` are written for new rows only:
    an existing row keeps its value (a default the sender never gave must not overwrite one it
    gave before). Returns ``frame`` with the ``id`` of every row and an ``action`` column:
    "inserted", "updated" or "unchanged". Run inside a transaction.
    """
    table = model._meta.db_table
    _lock(table)
    existing = _existing_ids(model, scope, key)
    frame = frame.join(existing, on=key, how="left")
    new = frame.filter(pl.col("id").is_null())
    start = (model.objects.aggregate(m=models.Max("id"))["m"] or 0) + 1  # type: ignore[attr-defined]
    new = new.with_columns(id=pl.int_range(start, start + new.height, dtype=pl.Int64))
    if new.height:
        # Rebuilding indexes pays only when the load is at least as big as the table.
        rebuild = new.height >= REBUILD_ROWS and new.height >= start - 1
        bulk_insert(model, new.with_columns(
            *(pl.lit(v).alias(k) for k, v in {**scope, **stamp, **created_stamp}.items())),
            rebuild_indexes=rebuild)
        reset_sequences([model])
    old = frame.filter(pl.col("id").is_not_null()).drop(*keep, strict=False)
    changed = (_update_changed(table, old, key=key, stamp=stamp) if old.height
               else pl.DataFrame(schema={"id": pl.Int64, "before": pl.String}))
    return pl.concat([
        new.with_columns(action=pl.lit("inserted")),
        old.join(changed, on="id", how="left").with_columns(
            action=pl.when(pl.col("before").is_not_null())
            .then(pl.lit("updated")).otherwise(pl.lit("unchanged"))),
    ], how="diagonal_relaxed")


def _lock(table: str) -> None:
    """Serialise writers choosing new ids (SQLite's write transaction already does)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')


def _existing_ids(model: type[models.Model], scope: dict[str, Any], key: str) -> pl.DataFrame:
    rows = model.objects.filter(**scope).values_list(key, "id")  # type: ignore[attr-defined]
    return pl.DataFrame(list(rows), schema={key: pl.String, "id": pl.Int64}, orient="row")


def _update_changed(table: str, old: pl.DataFrame, *, key: str,
                    stamp: dict[str, Any]) -> pl.DataFrame:
    """Copy ``old`` into a temporary table, then one UPDATE … FROM for the rows that differ.

    Returns the changed rows' ``id`` and ``before``: the columns the update writes, as they
    were, in a JSON object (what a withdrawal restores).
    """
    columns = [c for c in old.columns if c not in (key, "id")]
    tmp = f"tmp_{table}"
    quoted = ", ".join(f'"{c}"' for c in ["id", *columns])
    image = _json_object(table, [*columns, *stamp])
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{tmp}"')
        cursor.execute(f'CREATE TEMP TABLE "{tmp}" AS SELECT {quoted} FROM "{table}" WHERE 1 = 0')
        _insert_rows(cursor, tmp, ["id", *columns], _to_wire_types(old.select("id", *columns)))
        differs = " OR ".join(_distinct(f'"{table}"."{c}"', f'"{tmp}"."{c}"') for c in columns)
        cursor.execute(f'SELECT "{tmp}"."id", {image} FROM "{tmp}" JOIN "{table}" '
                       f'ON "{table}"."id" = "{tmp}"."id" WHERE {differs or "1 = 0"}')
        changed = pl.DataFrame(cursor.fetchall(), schema={"id": pl.Int64, "before": pl.String},
                               orient="row")
        if changed.height:
            sets = ", ".join([f'"{c}" = "{tmp}"."{c}"' for c in columns]
                             + [f'"{k}" = %s' for k in stamp])
            cursor.execute(
                f'UPDATE "{table}" SET {sets} FROM "{tmp}" WHERE "{table}"."id" = "{tmp}"."id" '
                f"AND ({differs})", list(stamp.values()))
        cursor.execute(f'DROP TABLE "{tmp}"')
    return changed


def _json_object(table: str, columns: list[str]) -> str:
    """SQL for a JSON object of ``table``'s ``columns`` (as text on both databases)."""
    pairs = ", ".join(f"'{c}', \"{table}\".\"{c}\"" for c in columns)
    if connection.vendor == "postgresql":
        return f"json_build_object({pairs})::text"
    return f"json_object({pairs})"


def _distinct(a: str, b: str) -> str:
    if connection.vendor == "postgresql":
        return f"{a} IS DISTINCT FROM {b}"
    return f"{a} IS NOT {b}"


def _insert_rows(cursor: Any, table: str, columns: list[str], frame: pl.DataFrame) -> None:
    for chunk in frame.iter_slices(CHUNK_ROWS):
        if connection.vendor == "postgresql":
            _copy(cursor, table, columns, chunk)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f'INSERT INTO "{table}" ({_quoted(columns)}) VALUES ({placeholders})'
            cursor.executemany(sql, list(chunk.iter_rows()))


def upsert_sourced(model: type[models.Model], frame: pl.DataFrame, *, source_id: int,
                   submission_id: int, keep: Iterable[str] = ()) -> pl.DataFrame:
    """``upsert`` for rows a source sends (models with lineage): keyed by the source's own
    record id, each row remembering the submission that created and last changed it.

    The owning app's bulk services call this inside the caller's load transaction, whose
    audit entry accounts for the rows.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("Sourced rows are loaded inside the caller's load_transaction.")
    return upsert(model, frame, scope={"source_id": source_id}, key="source_ref",
                  stamp={"changed_by_submission_id": submission_id},
                  created_stamp={"created_by_submission_id": submission_id}, keep=keep)


def withdraw_sourced(model: type[models.Model], *, submission_id: int,
                     before: pl.DataFrame) -> dict[str, int]:
    """Undo one submission's writes to ``model``'s table: rows it changed get back the
    values in ``before`` (``id`` and the ``before`` JSON ``upsert`` returned), rows it created
    are deleted. Set-wise; the caller makes sure no later write depends on them and runs this
    in its transaction (a row still referred to elsewhere then rolls everything back)."""
    if not connection.in_atomic_block:
        raise RuntimeError("A withdrawal runs inside the caller's transaction.")
    table = model._meta.db_table
    restored = _restore(model, before) if before.height else 0
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table}" WHERE "created_by_submission_id" = %s',
                       [submission_id])
        deleted = cursor.rowcount
    return {"restored": restored, "deleted": deleted}


def _restore(model: type[models.Model], before: pl.DataFrame) -> int:
    """One UPDATE … FROM a temporary table of (id, before JSON), each column read back from
    the JSON with its own type (PostgreSQL: the whole image as a row of the table at once).
    Every image of one table from one upsert has the same keys."""
    columns = list(json.loads(before["before"][0]))
    _check_columns(model, columns)
    table = model._meta.db_table
    tmp = f"tmp_{table}"
    if connection.vendor == "postgresql":  # each image parsed once, into the table's types
        text = "jsonb"
        source = (f'(SELECT "{tmp}"."id" AS "_id", (jsonb_populate_record(NULL::"{table}", '
                  f'"{tmp}"."before")).* FROM "{tmp}") AS "_image"')
        value = {c: f'"_image"."{c}"' for c in columns}
        match = '"_image"."_id"'
    else:
        text = "TEXT"
        source = f'"{tmp}"'
        value = {c: f"json_extract(\"{tmp}\".\"before\", '$.\"{c}\"')" for c in columns}
        match = f'"{tmp}"."id"'
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{tmp}"')
        cursor.execute(f'CREATE TEMP TABLE "{tmp}" ("id" bigint PRIMARY KEY, "before" {text})')
        _insert_rows(cursor, tmp, ["id", "before"], before.select("id", "before"))
        sets = ", ".join(f'"{c}" = {value[c]}' for c in columns)
        cursor.execute(f'UPDATE "{table}" SET {sets} FROM {source} '
                       f'WHERE "{table}"."id" = {match}')
        restored = cursor.rowcount
        cursor.execute(f'DROP TABLE "{tmp}"')
    return restored


def references_check(model_classes: Iterable[type[models.Model]]) -> None:
    """Raise IntegrityError now if any row still refers to a deleted row of these models.

    Foreign keys are checked at commit (deferred); a caller that wants to turn a dangling
    reference into a clear refusal, inside a savepoint it can roll back, asks here first.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return
    referring = sorted({rel.related_model._meta.db_table for m in model_classes
                        for rel in m._meta.related_objects
                        if rel.related_model._meta.managed})
    _foreign_key_check(referring)
