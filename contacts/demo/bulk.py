"""PostgreSQL bulk loading and unloading, the way its manual ("Populating a Database") advises.

Maintaining indexes and checking foreign keys row by row is what makes a million-row insert
or delete slow; doing each once, set-based, afterwards is much faster. Both helpers work in
one transaction, so an interrupted run leaves the tables as they were, and both hold strong
locks meanwhile: they are for generated benchmark data, not for a live site's requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction

LARGE = 50_000  # rows below this go the ordinary way


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@contextmanager
def bulk_load(model: type[models.Model], *, rows: int) -> Iterator[None]:
    """A transaction for inserting `rows` rows into `model`'s table.

    If the load is large against the table, its indexes (but the primary key and those behind
    constraints) and its foreign keys are dropped first and rebuilt after, in one pass each; a
    unique index rebuilt over duplicates fails, and the whole load with it.
    """
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql" or rows < LARGE or rows < _estimated_rows(cursor, table) / 10:
            yield
            return
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""", [table])
        indexes = cursor.fetchall()
        cursor.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f'", [table])
        foreign_keys = cursor.fetchall()
        _drop(cursor, foreign_keys)
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {_quote(name)}")
        yield
        for _, definition in indexes:
            cursor.execute(definition)
        _add(cursor, foreign_keys)


@contextmanager
def bulk_unload(model: type[models.Model], *, rows: int) -> Iterator[None]:
    """A transaction for deleting `rows` rows of `model`'s table once nothing refers to them.

    If `rows` is large, the foreign keys that point at the table are dropped first and added
    back (and so checked against every referring row at once) after, instead of checked per
    deleted row at commit.
    """
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor != "postgresql" or rows < LARGE:
            yield
            return
        cursor.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE confrelid = %s::regclass AND contype = 'f'", [table])
        foreign_keys = cursor.fetchall()
        _drop(cursor, foreign_keys)
        yield
        _add(cursor, foreign_keys)


def _estimated_rows(cursor, table: str) -> float:
    cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
    return cursor.fetchone()[0]


def _drop(cursor, foreign_keys: list[tuple[str, str, str]]) -> None:
    for table, name, _ in foreign_keys:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(name)}")


def _add(cursor, foreign_keys: list[tuple[str, str, str]]) -> None:
    for table, name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} {definition}")
