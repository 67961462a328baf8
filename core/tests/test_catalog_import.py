from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import sqlalchemy as sa
from servicesync.catalog import (
    dump_catalog,
    export_catalog,
    import_catalog,
    load_catalog_file,
    read_experts_csv,
)
from servicesync.domain import Competency, Expert, Service, ServiceRole, Stage
from servicesync.errors import ConfigError
from servicesync.store import Store, metadata
from sqlmodel import col, select

SAMPLE = Path(str(files("servicesync.samples").joinpath("catalog.yaml")))


def _rows(store: Store) -> dict[str, list[tuple[object, ...]]]:
    with store.transaction() as tx:
        return {
            table.name: sorted(
                tuple(map(str, row)) for row in tx.execute(sa.select(table))
            )
            for table in metadata().sorted_tables
        }


def test_import_catalog_loads_the_sample(store: Store) -> None:
    summary = import_catalog(store, load_catalog_file(SAMPLE))

    with store.session() as session:
        experts = len(session.exec(select(Expert)).all())
        stages = len(session.exec(select(Stage)).all())
    assert (summary.services, summary.templates, summary.experts) == (5, 5, 9)
    assert (experts, stages) == (9, 8)


def test_import_catalog_twice_leaves_the_same_rows(store: Store) -> None:
    catalog = load_catalog_file(SAMPLE)
    import_catalog(store, catalog)
    before = _rows(store)

    import_catalog(store, catalog)

    assert _rows(store) == before


def test_export_catalog_imports_back_to_the_same_file(
    store: Store, tmp_path: Path
) -> None:
    import_catalog(store, load_catalog_file(SAMPLE))
    exported = tmp_path / "out.yaml"
    exported.write_text(dump_catalog(export_catalog(store)))

    import_catalog(store, load_catalog_file(exported))

    assert dump_catalog(export_catalog(store)) == exported.read_text()
    assert load_catalog_file(exported) == export_catalog(store)


def test_import_catalog_removes_entries_dropped_from_the_file(store: Store) -> None:
    catalog = load_catalog_file(SAMPLE)
    import_catalog(store, catalog)
    trimmed = catalog.model_copy(deep=True)
    trimmed.services[0].roles = trimmed.services[0].roles[:1]

    import_catalog(store, trimmed)

    with store.session() as session:
        code = trimmed.services[0].code
        service = session.exec(select(Service).where(Service.code == code)).one()
        query = select(ServiceRole).where(ServiceRole.service_id == service.id)
        roles = len(session.exec(query).all())
    assert roles == 1


def test_import_catalog_keeps_competency_history(store: Store) -> None:
    import_catalog(store, load_catalog_file(SAMPLE))

    with store.session() as session:
        email = "anna.berg@northwind.example"
        expert = session.exec(select(Expert).where(Expert.email == email)).one()
        query = (
            select(Competency)
            .where(Competency.expert_id == expert.id)
            .where(Competency.competency == "data-strategy")
            .order_by(col(Competency.since))
        )
        levels = [c.level for c in session.exec(query)]
    assert levels == [4, 5]


def test_read_experts_csv_parses_competencies() -> None:
    lines = [
        "email,name,cost_rate,bill_rate,weekly_capacity_hours,competencies",
        "a@x.example,A,50.00,120,40,sql:3:2022-01-01;python:4:2023-02-01",
    ]

    (expert,) = read_experts_csv(lines)

    assert str(expert.cost_rate) == "50.00"
    assert [(c.competency, c.level) for c in expert.competencies] == [
        ("sql", 3),
        ("python", 4),
    ]


def test_import_experts_csv_is_idempotent(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_text(
        "email,name,competencies\na@x.example,A,sql:3:2022-01-01\nb@x.example,B,\n"
    )
    import_catalog(store, load_catalog_file(path))
    before = _rows(store)

    import_catalog(store, load_catalog_file(path))

    assert _rows(store) == before
    assert len(before["experts"]) == 2


def test_load_catalog_file_names_the_file_when_invalid(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("services:\n  - code: x\n    name: X\n    pricing_model: barter\n")

    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_catalog_file(path)
