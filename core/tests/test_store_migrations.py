from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from servicesync.store import (
    current_revision,
    head_revision,
    make_engine,
    metadata,
    open_store,
)
from servicesync.store._migrate import alembic_config
from servicesync.store._schema import include_name
from servicesync.store.testing import postgres_schema, postgres_url
from sqlalchemy.engine import Engine


def test_migrations_match_the_models(store_backend: Engine) -> None:
    with store_backend.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        differences = compare_metadata(context, metadata())

    assert differences == []


def test_migrations_are_found_inside_the_package() -> None:
    location = Path(alembic_config().get_main_option("script_location") or "")

    assert location.parts[-2:] == ("store", "migrations")
    assert (location / "env.py").is_file()


def test_open_store_migrates_a_new_database(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")

    try:
        assert current_revision(store.engine) == head_revision()
        assert "external_links" in sa.inspect(store.engine).get_table_names()
    finally:
        store.close()


def _open_together(url: str, connect_args: dict[str, str]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            barrier.wait()
            open_store(url, connect_args=connect_args).close()
        except BaseException as exc:  # collected for the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_open_store_from_several_threads_migrates_once__sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"

    errors = _open_together(url, {})

    assert errors == []
    assert current_revision(make_engine(url)) == head_revision()


@pytest.mark.postgres
def test_open_store_from_several_threads_migrates_once__postgres() -> None:
    with postgres_schema() as connect_args:
        errors = _open_together(postgres_url(), connect_args)
        engine = make_engine(postgres_url(), **connect_args)
        try:
            assert errors == []
            assert current_revision(engine) == head_revision()
        finally:
            engine.dispose()


def test_store_url_hides_the_password() -> None:
    url = sa.make_url("postgresql+psycopg://app:hunter22@db.example/sync")
    from servicesync.store import redact_url

    assert "hunter22" not in redact_url(url)
    assert "hunter22" not in str(url)
