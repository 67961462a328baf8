"""``servicesync conflicts list`` shows what two-way consistency recorded."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from servicesync.cli._app import app, build_app
from servicesync.store import Store
from test_two_way_jira import jira_call, project_key, two_way_world, won_and_settled
from typer.testing import CliRunner, Result
from won_deal_worlds import JiraWorld


def store_url(store: Store) -> str:
    """The URL that opens ``store``'s database, PostgreSQL schema included."""
    url = store.engine.url
    if url.get_backend_name() == "postgresql":
        with store.transaction() as tx:
            schema = tx.exec_driver_sql("SELECT current_schema()").scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def conflicts_command(store: Store, folder: Path, *args: str) -> Result:
    config = folder / "servicesync.toml"
    config.write_text(f'[store]\nurl = "{store_url(store)}"\n')
    build_app()
    command = ["--config", str(config), "conflicts", "list", *args]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return CliRunner().invoke(app, command)
    finally:
        # The command logs to the runner's stream, closed once it returns;
        # later tests log where they did before.
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


async def test_conflicts_list_json_shows_both_values_base_and_decision(
    make_world: Callable[..., JiraWorld], tmp_path: Path
) -> None:
    world = two_way_world(make_world)
    deal = await won_and_settled(world)
    key = project_key(world)
    await world.call("crm.deal.update", {"id": deal, "fields": {"TITLE": "Ours"}})
    await jira_call(world, "PUT", f"/project/{key}", {"name": f"Theirs ({key})"})
    await world.engine.sync()

    result = conflicts_command(world.store, tmp_path, "--json")

    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)["conflicts"]
    assert entry["deal"] == f"crm:{deal}"
    assert (entry["field"], entry["owner"], entry["project"]) == ("title", "crm", key)
    assert entry["base"] == {
        "crm": "Northwind: data audit",
        "delivery": "Northwind: data audit",
    }
    assert (entry["crm_value"], entry["delivery_value"]) == ("Ours", "Theirs")
    assert entry["kept"] == "Ours"
    assert "The CRM owns it" in entry["decision"]


async def test_conflicts_list_without_any_says_so(store: Store, tmp_path: Path) -> None:
    result = conflicts_command(store, tmp_path)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No conflicts."
