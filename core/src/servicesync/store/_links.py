"""External links, domain upserts by link, payload hashes and stream state.

The functions a sync runs for every page (hash lookups, link lookups and
inserts, bulk upserts) talk to the database driver with plain SQL and
positional parameters, through :func:`select_pairs` and :func:`write_rows`.
SQLAlchemy's statement machinery costs several microseconds a row, more
than the database itself spends; the column types' own bind processors
still convert every value, so rows are stored exactly as the ORM would
store them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from servicesync.contract import Record, StreamState, canonical_payload, text_hash
from servicesync.domain import new_id
from servicesync.domain._base import _CROCKFORD
from servicesync.domain._columns import EnumText, UTCDateTime
from servicesync.store._dialect import table_of, upsert
from servicesync.store._tables import ExternalLink, RecordHash, StreamStateRow

__all__ = [
    "changed_records",
    "ensure_links",
    "find_links",
    "fresh_ids",
    "get_stream_state",
    "link_ids",
    "remember_hashes",
    "select_pairs",
    "set_stream_state",
    "upsert_linked",
    "write_rows",
    "write_values",
]

_links = table_of(ExternalLink)
_hashes = table_of(RecordHash)
_states = table_of(StreamStateRow)

_LINK_COLUMNS = ("id", "connection", "record_type", "external_id", "internal_id",
                 "created_at")  # fmt: skip
_HASH_COLUMNS = ("connection", "stream", "external_id", "hash", "seen_at")

#: Keys per ``IN`` list: under SQLite's oldest limit of 999 bound parameters.
CHUNK = 500
#: Rows per multi-row ``INSERT``, when the driver's parameter limit allows.
MAX_ROWS = 500

#: Column types whose stored form depends only on the value's equality class.
_SAME_WHEN_EQUAL = (UTCDateTime, EnumText, sa.Date)

#: Each byte to the Crockford character of its low five bits.
_BYTE_TO_CROCKFORD = bytes(ord(_CROCKFORD[byte & 31]) for byte in range(256))


def fresh_ids(count: int) -> list[str]:
    """Return ``count`` new ids of the form :func:`~servicesync.domain.new_id` makes.

    They share the current millisecond and differ in their 80 random bits;
    one call to the system's random source serves them all.
    """
    if count <= 0:
        return []
    prefix = new_id()[:10]
    # The low five bits of a random byte are a random base-32 digit, so
    # sixteen random bytes translate into the sixteen characters of the
    # 80 random bits, with no arithmetic per id.
    text = os.urandom(16 * count).translate(_BYTE_TO_CROCKFORD).decode()
    return [prefix + text[i : i + 16] for i in range(0, 16 * count, 16)]


# -- plain SQL for the per-page work -----------------------------------------


def _marker(connection: sa.Connection) -> str:
    """The driver's positional parameter: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def select_pairs(
    connection: sa.Connection,
    table: sa.Table,
    columns: tuple[str, str],
    where: Mapping[str, Any],
    keys: Sequence[str],
) -> dict[Any, Any]:
    """Return ``{first: second}`` for the rows whose first column is in ``keys``.

    ``where`` adds equality conditions, such as the connection's name.
    """
    quote = connection.dialect.identifier_preparer.quote
    mark = _marker(connection)
    first, second = columns
    conditions = "".join(f"{quote(name)} = {mark} AND " for name in where)
    head = (
        f"SELECT {quote(first)}, {quote(second)} "
        f"FROM {connection.dialect.identifier_preparer.format_table(table)} "
        f"WHERE {conditions}{quote(first)} IN "
    )
    fixed = tuple(where.values())
    found: dict[Any, Any] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        sql = f"{head}({', '.join([mark] * len(chunk))})"
        found.update(connection.exec_driver_sql(sql, (*fixed, *chunk)).all())
    return found


def write_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str] = (),
    *,
    update: bool = True,
) -> int:
    """Insert ``rows``, all with the same columns; return the rows written.

    With ``keys``, a row whose keys exist already overwrites the other
    columns it names (or, with ``update=False``, is left as it is and not
    counted). Columns the rows leave out get their scalar defaults on
    insert only, as SQLAlchemy's ``insert()`` would give them.

    The rows go in multi-row ``INSERT`` statements, several hundred rows
    each; where two rows share their keys and would overwrite, the last
    one is kept, which is where writing them one by one would end.
    """
    if not rows:
        return 0
    columns = list(rows[0])
    getter = itemgetter(*columns)
    if len(columns) == 1:
        values = [(getter(row),) for row in rows]
    else:
        values = [getter(row) for row in rows]
    return write_values(connection, table, columns, values, keys, update=update)


def write_values(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    keys: Sequence[str] = (),
    *,
    update: bool = True,
) -> int:
    """Do what :func:`write_rows` does, for rows given as values in ``columns`` order.

    A caller that builds many rows spares a dictionary a row this way.
    """
    if not values:
        return 0
    columns = list(columns)
    defaults = _scalar_defaults(connection, table, columns)
    names = columns + list(defaults)
    if keys and update:
        key_of = itemgetter(*[columns.index(key) for key in keys])
        values = list({key_of(row): row for row in values}.values())
    bound = _bound_columns(connection, table, columns, values)
    bound += [[value] * len(values) for value in defaults.values()]
    rows = list(zip(*bound, strict=True))
    head, tail = _insert_sql(connection, table, names, columns, keys, update)
    one = f"({', '.join([_marker(connection)] * len(names))})"
    per = _rows_per_statement(connection, len(names))
    written = 0
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = f"{head} VALUES {', '.join([one] * len(chunk))}{tail}"
        result = connection.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))
        written += result.rowcount
    return written


def _rows_per_statement(connection: sa.Connection, width: int) -> int:
    """Rows per ``INSERT`` that keep its parameters under the driver's limit."""
    limit = 65_535
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        getlimit = getattr(driver, "getlimit", None)
        # SQLite builds before 3.32 allow 999 parameters; later ones 32,766.
        limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit else 999
    return max(1, min(MAX_ROWS, limit // width))


def _insert_sql(
    connection: sa.Connection,
    table: sa.Table,
    names: Sequence[str],
    columns: Sequence[str],
    keys: Sequence[str],
    update: bool,
) -> tuple[str, str]:
    """Return the ``INSERT`` up to its values, and its ``ON CONFLICT`` clause."""
    preparer = connection.dialect.identifier_preparer
    quote = preparer.quote
    head = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(quote(n) for n in names)})"
    )
    if not keys:
        return head, ""
    conflict = f" ON CONFLICT ({', '.join(quote(k) for k in keys)})"
    changed = [c for c in columns if c not in keys] if update else []
    if not changed:
        return head, f"{conflict} DO NOTHING"
    sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed)
    return head, f"{conflict} DO UPDATE SET {sets}"


def _scalar_defaults(
    connection: sa.Connection, table: sa.Table, given: Sequence[str]
) -> dict[str, Any]:
    """The bound values of the scalar defaults of the columns not given."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if not getattr(default, "is_scalar", False):
            msg = (
                f"write_rows needs a value for {table.name}.{column.name}, "
                "whose default is computed."
            )
            raise TypeError(msg)
        value = getattr(default, "arg", None)
        process = _processor(connection, column)
        defaults[column.name] = process(value) if process else value
    return defaults


def _processor(
    connection: sa.Connection, column: sa.Column[Any]
) -> Callable[[Any], Any] | None:
    column_type = column.type
    if isinstance(column_type, sa.JSON) or (
        isinstance(column_type, TypeDecorator)
        and isinstance(column_type.impl_instance, sa.JSON)
    ):
        # JSON turns None into 'null'; these helpers keep None as NULL.
        msg = f"write_rows does not write JSON columns such as {column.name!r}."
        raise TypeError(msg)
    dialect = connection.dialect
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _bound_columns(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
) -> list[Sequence[Any]]:
    """Return the values column by column, each bound as its column's type."""
    # Column by column, a type's bind processor runs in one comprehension
    # instead of a Python loop over every value of every row.
    by_column: list[Sequence[Any]] = list(zip(*values, strict=True))
    for index, name in enumerate(columns):
        column = table.c[name]
        process = _processor(connection, column)
        if process is not None:
            by_column[index] = _bind_column(process, column, by_column[index])
    return by_column


def _bind_column(
    process: Callable[[Any], Any], column: sa.Column[Any], values: Sequence[Any]
) -> list[Any]:
    """Bind one column's values; ``None`` stays ``None``.

    A page's rows share values: the time of the sync, dates, a handful of
    enum members. Formatting each once is most of the conversion's cost.
    Instants, dates and enums convert alike when they are equal, so they
    are converted once per distinct value; anything else
    (``Decimal("1.0")`` equals ``Decimal("1.00")`` but is stored
    differently) once per run of the same object.
    """
    if isinstance(column.type, _SAME_WHEN_EQUAL):
        distinct = dict.fromkeys(values)
        bound = {value: process(value) for value in distinct if value is not None}
        return [None if value is None else bound[value] for value in values]
    result: list[Any] = []
    last: Any = None
    last_bound: Any = None
    for value in values:
        if value is None:
            result.append(None)
            continue
        if value is not last:
            last, last_bound = value, process(value)
        result.append(last_bound)
    return result


# -- links ---------------------------------------------------------------------


def link_ids(
    connection: sa.Connection,
    source: str,
    record_type: str,
    external_ids: Iterable[str],
    now: datetime,
) -> dict[str, str]:
    """Return the internal id of each external id, creating missing links.

    Concurrent callers that link the same external id at once all get the id
    of the one link that won the insert.
    """
    return ensure_links(connection, source, record_type, external_ids, now)[0]


def ensure_links(
    connection: sa.Connection,
    source: str,
    record_type: str,
    external_ids: Iterable[str],
    now: datetime,
) -> tuple[dict[str, str], set[str]]:
    """Return what :func:`link_ids` returns, and the external ids linked just now.

    An internal id linked just now names no domain row yet, so a caller can
    skip looking for one.
    """
    wanted = sorted(set(external_ids))
    found = find_links(connection, source, record_type, wanted)
    missing = [external_id for external_id in wanted if external_id not in found]
    if not missing:
        return found, set()
    ids = fresh_ids(2 * len(missing))
    ours = dict(zip(missing, ids[1::2], strict=True))
    rows = [
        (link_id, source, record_type, external_id, internal_id, now)
        for link_id, (external_id, internal_id) in zip(
            ids[::2], ours.items(), strict=True
        )
    ]
    keys = ["connection", "record_type", "external_id"]
    written = write_values(connection, _links, _LINK_COLUMNS, rows, keys, update=False)
    if written == len(rows):
        found.update(ours)
        return found, set(missing)
    # Another transaction linked some of them first: its ids win, and which
    # rows were ours is read back rather than guessed.
    found.update(find_links(connection, source, record_type, missing))
    return found, {e for e in missing if found.get(e) == ours[e]}


def find_links(
    connection: sa.Connection,
    source: str,
    record_type: str,
    external_ids: Sequence[str],
) -> dict[str, str]:
    """Return the internal id of each external id already linked."""
    where = {"connection": source, "record_type": record_type}
    return select_pairs(
        connection, _links, ("external_id", "internal_id"), where, external_ids
    )


def upsert_linked(
    connection: sa.Connection,
    source: str,
    record_type: str,
    rows: Sequence[tuple[str, SQLModel]],
    now: datetime,
) -> dict[str, str]:
    """Write domain rows keyed by their external id; return external to internal id.

    Every row must be an instance of the same table model. Its ``id`` is
    replaced by the id the link gives, so a record read twice updates the row
    it made the first time.
    """
    if not rows:
        return {}
    table = table_of(type(rows[0][1]))
    ids = link_ids(connection, source, record_type, (ext for ext, _ in rows), now)
    values: dict[str, dict[str, Any]] = {}
    for external_id, model in rows:
        if table_of(type(model)) is not table:
            msg = (
                f"upsert_linked got rows of {table.name!r} and {type(model).__name__}."
            )
            raise TypeError(msg)
        values[external_id] = {**model.model_dump(), "id": ids[external_id]}
    upsert(connection, table, list(values.values()), ["id"])
    return ids


# -- payload hashes and stream state -------------------------------------------


def changed_records(
    connection: sa.Connection,
    source: str,
    stream: str,
    records: Sequence[Record],
    now: datetime,
) -> list[Record]:
    """Return the records whose payload hash differs from the one last seen.

    A record whose stored digest is one of an earlier kind (see
    :func:`_earlier_digests`) that still matches its payload is unchanged:
    its digest is stored anew, in the caller's transaction, and it is not
    returned.
    """
    where = {"connection": source, "stream": stream}
    ids = [record.external_id for record in records]
    known = select_pairs(connection, _hashes, ("external_id", "hash"), where, ids)
    changed = [r for r in records if r.deleted or known.get(r.external_id) != r.hash]
    # Only records seen before whose digest differs pay for the earlier
    # kinds: after an upgrade each such record once, then only real changes.
    seen = [r for r in changed if not r.deleted and r.external_id in known]
    same = [r for r in seen if known[r.external_id] in _earlier_digests(r)]
    if not same:
        return changed
    remember_hashes(connection, source, stream, same, now)
    unchanged = {r.external_id for r in same}
    return [r for r in changed if r.external_id not in unchanged]


def _earlier_digests(record: Record) -> tuple[str, ...]:
    """The digests stores hold for ``record`` from before its kind of hash.

    Payload hashes were BLAKE2b of the canonical payload, then XXH3 of it;
    a record read as JSON text is now hashed by its text.
    """
    text = canonical_payload(record.payload)
    return text_hash(text), hashlib.blake2b(text, digest_size=16).hexdigest()


def remember_hashes(
    connection: sa.Connection,
    source: str,
    stream: str,
    records: Sequence[Record],
    now: datetime,
) -> None:
    """Store the payload hash of each record as the last one seen."""
    rows = [(source, stream, r.external_id, r.hash, now) for r in records]
    keys = ["connection", "stream", "external_id"]
    write_values(connection, _hashes, _HASH_COLUMNS, rows, keys)


def get_stream_state(
    connection: sa.Connection, source: str, stream: str
) -> StreamState:
    """Return the stored state of a stream, or an empty one."""
    query = sa.select(_states.c.state).where(
        _states.c.connection == source, _states.c.stream == stream
    )
    document = connection.execute(query).scalar_one_or_none()
    return StreamState() if document is None else StreamState.model_validate(document)


def set_stream_state(
    connection: sa.Connection,
    source: str,
    stream: str,
    state: StreamState,
    now: datetime,
) -> None:
    """Store the state of a stream, in the caller's transaction."""
    row = {
        "connection": source,
        "stream": stream,
        "state": state.model_dump(mode="json"),
        "updated_at": now,
    }
    upsert(connection, _states, [row], ["connection", "stream"])
