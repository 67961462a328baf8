"""Pytest fixtures that give each test a migrated, empty store.

Load them from a ``conftest.py`` with::

    pytest_plugins = ["servicesync.store.testing"]

The ``store`` fixture runs each test twice: on a SQLite file and on
PostgreSQL (marked ``postgres``). Each pytest-xdist worker migrates its own
SQLite file and its own PostgreSQL schema once, and the tables are emptied
before every test. PostgreSQL comes from ``$SERVICESYNC_TEST_POSTGRES_URL``
(default: the local server's ``test`` database). When it cannot be reached
the PostgreSQL cases are skipped, or fail when ``$CI`` is set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from servicesync._clock import VirtualClock
from servicesync.store._engine import make_engine
from servicesync.store._migrate import upgrade
from servicesync.store._schema import metadata
from servicesync.store._secrets import SecretBox
from servicesync.store._store import Store

__all__ = [
    "POSTGRES_URL_ENV",
    "empty_tables",
    "every_row",
    "postgres_schema",
    "postgres_url",
    "store",
    "store_backend",
]

#: The environment variable naming the PostgreSQL server tests use.
POSTGRES_URL_ENV = "SERVICESYNC_TEST_POSTGRES_URL"
_DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    """Return the URL of the PostgreSQL database tests may use."""
    return os.environ.get(POSTGRES_URL_ENV, _DEFAULT_POSTGRES_URL)


def empty_tables(engine: Engine) -> None:
    """Delete every row of the core's tables, keeping the schema revision."""
    tables = list(reversed(metadata().sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(
                connection.dialect.identifier_preparer.quote(t.name) for t in tables
            )
            connection.exec_driver_sql(f"TRUNCATE TABLE {names} CASCADE")
        else:
            for table in tables:
                connection.execute(sa.delete(table))


def every_row(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of every table in the database, by table name.

    The tables are found in the database itself, not in the models, so a
    table no model describes is read too. Rows are sorted, so that two
    snapshots of unchanged data compare equal.
    """
    tables = sa.MetaData()
    found: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as connection:
        tables.reflect(connection)
        for name, table in tables.tables.items():
            rows = connection.execute(sa.select(table)).all()
            found[name] = sorted((tuple(row) for row in rows), key=repr)
    return found


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at {sa.make_url(postgres_url())!s} is unreachable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is an error)")
    pytest.skip(message)


def _admin_dsn() -> str:
    return (
        sa.make_url(postgres_url())
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("store") / f"{_worker()}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@contextmanager
def postgres_schema() -> Iterator[dict[str, str]]:
    """Create an empty PostgreSQL schema; yield connect args that select it.

    The schema is dropped on exit. An unreachable server skips the test, or
    fails it when ``$CI`` is set.
    """
    schema = f"t_{_worker()}_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        _unreachable(str(exc).strip())
    try:
        yield {"options": f"-csearch_path={schema}"}
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine]:
    with postgres_schema() as connect_args:
        engine = make_engine(postgres_url(), **connect_args)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_backend(request: pytest.FixtureRequest) -> Engine:
    """An engine on a migrated, empty database of each supported kind."""
    fixture = "_postgres_engine" if request.param == "postgres" else "_sqlite_engine"
    engine: Engine = request.getfixturevalue(fixture)
    empty_tables(engine)
    return engine


@pytest.fixture
def store(store_backend: Engine) -> Store:
    """A :class:`Store` on an empty database, with a virtual clock and a fresh key."""
    box = SecretBox(Fernet.generate_key().decode())
    return Store(store_backend, clock=VirtualClock(), secrets=box)
