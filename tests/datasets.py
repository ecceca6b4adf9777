"""Synthetic countries built once per test session; each test that asks for one gets a copy.

A *dataset* (the 1,500-person ``country``, the 20,000-person ``offices`` with the files its
district offices send, the same taken in and ``linked``) is built the first time a test asks
for it, through the services like any country, and kept as a template:

* SQLite: the test database lives in memory; after the build its pages are copied (SQLite's
  backup API) into a private in-memory database, the template. Before each test that asks for
  the dataset the template is copied back over the test database, and afterwards the empty,
  just-migrated database is copied back, so a test's changes never reach the next test.
* PostgreSQL: each dataset is a database of its own, made with ``CREATE DATABASE … TEMPLATE``
  from an empty migrated one. A test wrapped in a rolled-back transaction (``db``) runs on the
  dataset's database itself: the rollback undoes its changes, and the sequences, which a
  rollback does not restore, are set back to their values after the build. A test whose
  changes are committed (``transactional_db``, ``live_server``) gets a fresh copy,
  ``CREATE DATABASE … TEMPLATE`` the dataset's, used by no other test (and dropped with the
  templates at the end of the session).

The switch must happen before the test's transaction opens, so ``tests/conftest.py`` puts the
``_dataset`` fixture first among the fixtures of every test that uses a dataset.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection

from spmis.linkage.services import linkage_run
from spmis.synth.services import country_synthesise, office_files_ingest
from tests.helpers import AS_OF

OFFICE_PERSONS = 20_000  # enough communes for three district offices


@dataclass(frozen=True)
class Dataset:
    """How to build one dataset: ``build(files)`` runs on a database holding ``base`` (another
    dataset's name, or nothing: an empty migrated database) and returns what tests receive."""

    name: str
    build: Callable[[Path], Any]
    base: str | None = None


def _country(files: Path) -> Any:
    return country_synthesise(actor=None, persons=1500, seed=11, as_of=AS_OF, months=6)


def _offices(files: Path) -> Any:
    return country_synthesise(actor=None, persons=OFFICE_PERSONS, seed=5, as_of=AS_OF,
                              office_files=files)


def _linked(files: Path) -> Any:
    office_files_ingest(actor=None, directory=files)
    return linkage_run(actor=None).pk


DATASETS = {d.name: d for d in (
    Dataset("country", _country),
    Dataset("offices", _offices),
    Dataset("linked", _linked, base="offices"),
)}


@dataclass
class Templates(ABC):
    """The datasets of one test session and the database tricks to copy them."""

    files: Path  # the office files written by the ``offices`` build
    built: dict[str, Any] = field(default_factory=dict)
    active: str | None = None

    @staticmethod
    def for_connection(files: Path) -> Templates:
        return (PostgresTemplates if connection.vendor == "postgresql" else SqliteTemplates)(
            files=files)

    def value(self, name: str) -> Any:
        """What the dataset's build returned (built now if it was not yet)."""
        if name not in self.built:
            dataset = DATASETS[name]
            if dataset.base:
                self.value(dataset.base)
            self.built[name] = self._build(dataset)
        return self.built[name]

    def enter(self, name: str, *, transactional: bool) -> Any:
        """Make the test database hold a copy of dataset ``name``."""
        if connection.in_atomic_block:
            raise RuntimeError(f"The dataset {name!r} must be set up before the test's "
                               "transaction opens: request it through tests/conftest.py.")
        value = self.value(name)
        self._enter(name, transactional=transactional)
        self.active = name
        return value

    def leave(self) -> None:
        """Put the empty test database back."""
        if self.active is not None:
            self._leave()
            self.active = None

    @abstractmethod
    def start(self) -> None:
        """Done by each database's subclass."""

    @abstractmethod
    def stop(self) -> None:
        """Done by each database's subclass."""

    @abstractmethod
    def _build(self, dataset: Dataset) -> Any:
        """Done by each database's subclass."""

    @abstractmethod
    def _enter(self, name: str, *, transactional: bool) -> None:
        """Done by each database's subclass."""

    @abstractmethod
    def _leave(self) -> None:
        """Done by each database's subclass."""


@dataclass
class SqliteTemplates(Templates):
    images: dict[str | None, sqlite3.Connection] = field(default_factory=dict)

    def _raw(self) -> sqlite3.Connection:
        connection.ensure_connection()
        raw = connection.connection
        assert isinstance(raw, sqlite3.Connection)
        return raw

    def _image_of_test_database(self) -> sqlite3.Connection:
        image = sqlite3.connect(":memory:", check_same_thread=False)
        self._raw().backup(image)
        return image

    def _restore(self, name: str | None) -> None:
        self.images[name].backup(self._raw())

    def start(self) -> None:
        self.images[None] = self._image_of_test_database()  # empty, just migrated

    def stop(self) -> None:
        self._restore(None)
        for image in self.images.values():
            image.close()
        self.images.clear()

    def _build(self, dataset: Dataset) -> Any:
        self._restore(dataset.base)
        try:
            value = dataset.build(self.files)
            self.images[dataset.name] = self._image_of_test_database()
        finally:
            self._restore(None)
        return value

    def _enter(self, name: str, *, transactional: bool) -> None:
        self._restore(name)  # a copy either way: committed changes die with it too

    def _leave(self) -> None:
        self._restore(None)


@dataclass
class PostgresTemplates(Templates):
    test_database: str = ""
    sequences: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)
    copies: list[str] = field(default_factory=list)
    in_copy: bool = False

    def _name(self, suffix: str) -> str:
        return f"{self.test_database}_{suffix}"[:63]

    def _use(self, database: str) -> None:
        """Point the connection (in every thread: the settings are shared) at ``database``."""
        connection.close()
        connection.settings_dict["NAME"] = database

    def _admin(self, *statements: str) -> None:
        with connection._nodb_cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    def _create(self, database: str, template: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
                    f'CREATE DATABASE "{database}" TEMPLATE "{template}"')

    def start(self) -> None:
        self.test_database = connection.settings_dict["NAME"]
        # A live server's threads must follow the switches between databases: no connection
        # may outlive the request that opened it.
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()
        self._create(self._name("empty"), self.test_database)

    def stop(self) -> None:
        self._use(self.test_database)
        names = [self._name(n) for n in ("empty", *self.built)] + self.copies
        self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))

    def _build(self, dataset: Dataset) -> Any:
        database = self._name(dataset.name)
        self._create(database, self._name(dataset.base or "empty"))
        self._use(database)
        try:
            value = dataset.build(self.files)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
                cursor.execute("SELECT format('%I.%I', schemaname, sequencename), last_value "
                               "FROM pg_sequences")
                self.sequences[dataset.name] = cursor.fetchall()
        finally:
            self._use(self.test_database)
        return value

    def _enter(self, name: str, *, transactional: bool) -> None:
        if transactional:  # committed changes: a copy of its own, never used again
            # Dropped at the end of the session: PostgreSQL 15 checkpoints on each DROP.
            copy = self._name(f"copy{len(self.copies) + 1}")
            self.copies.append(copy)
            self._create(copy, self._name(name))
            self._use(copy)
            self.in_copy = True
        else:  # the test's transaction is rolled back: the dataset's database itself
            self._use(self._name(name))

    def _leave(self) -> None:
        if self.in_copy:
            self.in_copy = False
            self._use(self.test_database)
            return
        assert self.active is not None
        # A rollback leaves sequences advanced: set them back to their values after the build.
        calls = [f"setval('{seq}', {value}, true)" if value is not None
                 else f"setval('{seq}', 1, false)" for seq, value in self.sequences[self.active]]
        if calls:
            with connection.cursor() as cursor:
                cursor.execute("SELECT " + ", ".join(calls))
        self._use(self.test_database)
