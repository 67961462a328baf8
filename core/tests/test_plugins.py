from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from servicesync import hookimpl
from servicesync.contract import Connector, ConnectorConfig, Stream
from servicesync.errors import PluginError
from servicesync.plugins import load_plugins


class NotesConfig(ConnectorConfig):
    token: str


class NotesConnector(Connector[NotesConfig]):
    name = "notes"
    config_model = NotesConfig

    def streams(self) -> Sequence[Stream]:
        return []


def plugin_with(*connectors: Any) -> SimpleNamespace:
    @hookimpl
    def register_connectors(register: Any) -> None:
        for connector in connectors:
            register(connector)

    return SimpleNamespace(register_connectors=register_connectors)


def test_load_plugins_collects_connectors() -> None:
    plugins = load_plugins(modules=[("notes", plugin_with(NotesConnector))])

    assert plugins.connector("notes") is NotesConnector
    assert plugins.info["notes"].connectors == ["notes"]
    assert plugins.info["notes"].hooks == ["register_connectors"]
    assert plugins.failures == []


def test_load_plugins_duplicate_connector_blames_later_plugin() -> None:
    plugins = load_plugins(
        modules=[
            ("first", plugin_with(NotesConnector)),
            ("second", plugin_with(NotesConnector)),
        ]
    )

    assert list(plugins.info) == ["first"]
    assert plugins.failures[0].name == "second"
    assert "already taken" in plugins.failures[0].reason


def test_load_plugins_rejects_non_connector() -> None:
    plugins = load_plugins(modules=[("odd", plugin_with(object))])

    assert plugins.connectors == {}
    assert "not a Connector subclass" in plugins.failures[0].reason


def test_load_plugins_hook_with_unknown_argument_is_reported() -> None:
    @hookimpl
    def register_connectors(registrar: Any) -> None:  # wrong argument name
        pass

    plugins = load_plugins(
        modules=[("typo", SimpleNamespace(register_connectors=register_connectors))]
    )

    assert plugins.failures[0].name == "typo"
    assert "registrar" in plugins.failures[0].reason


def test_load_plugins_register_hook_that_raises_is_reported() -> None:
    @hookimpl
    def register_connectors(register: Any) -> None:
        raise RuntimeError("boom")

    plugins = load_plugins(
        modules=[("bad", SimpleNamespace(register_connectors=register_connectors))]
    )

    assert plugins.failures[0].reason == "register_connectors raised RuntimeError: boom"


def test_plugins_connector_unknown_says_what_to_install() -> None:
    plugins = load_plugins(modules=[])

    with pytest.raises(PluginError, match="servicesync-asana"):
        plugins.connector("asana")


@pytest.fixture
def installed_test_plugins(tmp_path: Path) -> dict[str, str]:
    """A folder on PYTHONPATH holding one good and one broken plugin distribution."""
    (tmp_path / "goodplug.py").write_text(
        textwrap.dedent(
            """
            from servicesync import hookimpl
            from servicesync.contract import Connector, ConnectorConfig

            class Echo(Connector):
                name = "echo"
                config_model = ConnectorConfig
                def streams(self):
                    return []

            @hookimpl
            def register_connectors(register):
                register(Echo)
            """
        )
    )
    (tmp_path / "brokenplug.py").write_text("import no_such_module_anywhere\n")
    for dist, module in (("goodplug", "goodplug"), ("brokenplug", "brokenplug")):
        info = tmp_path / f"{dist}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n"
        )
        (info / "entry_points.txt").write_text(
            f"[servicesync.plugins]\n{dist} = {module}\n"
        )
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop("SERVICESYNC_PLUGINS", None)
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servicesync", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_plugins_list_names_broken_plugin_and_lists_good_ones(
    installed_test_plugins: dict[str, str],
) -> None:
    result = run_cli("plugins", "list", "--json", env=installed_test_plugins)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    good = {p["name"]: p for p in report["plugins"]}
    assert good["goodplug"]["connectors"] == ["echo"]
    assert good["goodplug"]["version"] == "1.2.3"
    failures = {f["name"]: f["reason"] for f in report["failures"]}
    assert "no_such_module_anywhere" in failures["brokenplug"]
    assert "brokenplug" in result.stderr


def test_plugins_list_environment_filter_skips_broken_plugin(
    installed_test_plugins: dict[str, str],
) -> None:
    env = dict(installed_test_plugins, SERVICESYNC_PLUGINS="goodplug")

    result = run_cli("plugins", "list", "--json", env=env)

    report = json.loads(result.stdout)
    assert [p["name"] for p in report["plugins"]] == ["goodplug"]
    assert report["failures"] == []
