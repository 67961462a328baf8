from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from servicesync.cli._app import app
from servicesync.cli.commands import catalog, db
from typer.testing import CliRunner

SAMPLE = str(files("servicesync.samples").joinpath("catalog.yaml"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "servicesync.toml"
    path.write_text('[store]\nurl = "sqlite:///data/servicesync.db"\n')
    (tmp_path / "data").mkdir()
    return path


@pytest.fixture
def runner() -> CliRunner:
    if not any(group.name == "db" for group in app.registered_groups):
        db.register(app)
        catalog.register(app)
    return CliRunner()


def test_db_upgrade_creates_the_store_next_to_the_config(
    runner: CliRunner, config: Path
) -> None:
    result = runner.invoke(app, ["--config", str(config), "db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert (config.parent / "data" / "servicesync.db").is_file()


def test_db_current_reports_an_empty_store(runner: CliRunner, config: Path) -> None:
    result = runner.invoke(app, ["--config", str(config), "db", "current"])

    assert result.exit_code == 0, result.output
    assert "empty" in result.output


def test_catalog_export_writes_what_import_read(
    runner: CliRunner, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.yaml"
    imported = runner.invoke(
        app, ["--config", str(config), "catalog", "import", SAMPLE]
    )
    exported = runner.invoke(
        app, ["--config", str(config), "catalog", "export", str(out)]
    )

    assert (imported.exit_code, exported.exit_code) == (0, 0), imported.output
    assert "anna.berg@northwind.example" in out.read_text()


def test_catalog_import_of_a_missing_file_exits_with_1(
    runner: CliRunner, config: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"

    result = runner.invoke(
        app, ["--config", str(config), "catalog", "import", str(missing)]
    )

    assert result.exit_code == 1
    assert "nope.yaml" in result.output


def test_db_upgrade_without_a_config_exits_with_1(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["--config", str(tmp_path / "none.toml"), "db", "upgrade"]
    )

    assert result.exit_code == 1
