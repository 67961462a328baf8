from __future__ import annotations

import logging
from pathlib import Path

import pytest
from servicesync.config import load_config, parse_config
from servicesync.errors import ConfigError

GOOD = """
[store]
url = "sqlite:///data/store.db"

[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
webhook_url = "${B24_HOOK}"
[connections.crm.mapping.values.stage]
"C1:NEW" = "acquaintance"

[connections.delivery]
plugin = "jira"

[flows.won]
type = "won_deal"
source = "crm"
target = "delivery"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "servicesync.toml"
    path.write_text(text)
    return path


def test_load_config_resolves_environment_references(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    config = load_config(path, env={"B24_HOOK": "https://p.example/rest/1/abcdef123/"})

    settings = config.connections["crm"].settings
    assert settings["webhook_url"] == "https://p.example/rest/1/abcdef123/"
    assert "https://p.example/rest/1/abcdef123/" in config.secret_values
    assert config.connections["crm"].mapping.values["stage"] == {
        "C1:NEW": "acquaintance"
    }
    assert config.flows["won"].on_stage == "contract_signed"


def test_load_config_makes_relative_sqlite_path_absolute(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={"B24_HOOK": "x"})

    assert config.store_url() == f"sqlite:///{tmp_path / 'data' / 'store.db'}"


def test_load_config_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD + "\n[connections.crm.schedule]\nevery = 60\nevry = 5\n"
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"B24_HOOK": "x"})

    assert caught.value.path == str(path)
    assert caught.value.key == "connections.crm.schedule.evry"
    assert "unknown key" in str(caught.value)


def test_load_config_wrong_type_names_key_and_expectation(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace('plugin = "jira"', 'plugin = "jira"\nenabled = "maybe"')
    )

    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"B24_HOOK": "x"})

    assert caught.value.key == "connections.delivery.enabled"
    assert "boolean" in str(caught.value)
    assert str(path) in str(caught.value)


def test_load_config_unset_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="B24_HOOK") as caught:
        load_config(write(tmp_path, GOOD), env={})

    assert caught.value.key == "connections.crm.settings.webhook_url"


def test_load_config_broken_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[store\nurl = 1")

    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)

    assert caught.value.path == str(path)


def test_load_config_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="servicesync init"):
        load_config(tmp_path / "nope.toml")


def test_parse_config_clear_secret_warns_without_printing_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    text = GOOD.replace('"${B24_HOOK}"', '"https://p.example/rest/1/cleartextcode9/"')

    with caplog.at_level(logging.WARNING):
        config = parse_config(text)

    assert "connections.crm.settings.webhook_url holds a secret in clear" in caplog.text
    assert "cleartextcode9" not in caplog.text
    assert "https://p.example/rest/1/cleartextcode9/" in config.secret_values
    assert "cleartextcode9" not in repr(config)


def test_parse_config_rejects_bad_connection_name() -> None:
    with pytest.raises(ConfigError, match="connection name"):
        parse_config('[connections."my crm"]\nplugin = "bitrix24"\n')


def test_config_connection_unknown_lists_known_ones() -> None:
    config = parse_config(GOOD, env={"B24_HOOK": "x"})

    with pytest.raises(ConfigError, match="crm, delivery"):
        config.connection("erp")
