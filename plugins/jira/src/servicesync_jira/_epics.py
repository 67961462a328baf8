"""A deal laid out as an epic in one shared project (``mode = "epic"``).

In this mode the deal's "project" is an epic issue of the configured shared
project, and the key the other actions receive as ``project_key`` is that
epic's key. :func:`place` turns it back into the Jira project to write in
and the epic to hang the deal's tasks under, so the actions (and the flows
that call them) need not know which layout the connection uses.

Every deal shares the project's issue numbers, so the number below which
nothing of a deal is missing (the key floor the task reconciliation scans
from) is kept per deal epic, never per project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult

from servicesync_jira._client import API
from servicesync_jira._config import JiraConfig
from servicesync_jira._document import text_document
from servicesync_jira._errors import raise_for_status
from servicesync_jira._keys import issue_label, marker

if TYPE_CHECKING:
    from servicesync_jira._actions_project import CreateProjectParams
    from servicesync_jira._connector import JiraConnector

__all__ = ["create_deal_epic", "deal_epic_result", "find_deal_epic", "place"]


def place(config: JiraConfig, project_key: str) -> tuple[str, str | None]:
    """Return the Jira project to write in, and the deal epic if there is one.

    Example:
        In epic mode with ``shared_project_key = "DEL"``, ``place(config,
        "DEL-12")`` is ``("DEL", "DEL-12")``; in project mode ``place(config,
        "ACME")`` is ``("ACME", None)``.
    """
    # Project keys hold no dash; issue keys always do.
    if config.mode == "epic" and config.shared_project_key and "-" in project_key:
        return config.shared_project_key, project_key
    return project_key, None


async def find_deal_epic(
    connector: JiraConnector, dedup_key: str
) -> ActionResult | None:
    """Return the deal epic an earlier attempt with ``dedup_key`` made, if any.

    No key floor is known for an epic not yet seen, so this is a label search,
    repeated a few times over the search index's lag.
    """
    project = str(connector.config.shared_project_key)
    label = issue_label(dedup_key)
    found = await connector.tasks.search_labels(project, {label})
    return deal_epic_result(connector, found[label]) if label in found else None


async def create_deal_epic(
    connector: JiraConnector, dedup_key: str, params: CreateProjectParams
) -> ActionResult:
    """Create the deal's epic in the shared project, labelled with its token."""
    text = f"{params.description}\n\n{marker(dedup_key)}".strip()
    fields: dict[str, Any] = {
        "project": {"key": connector.config.shared_project_key},
        "issuetype": {"name": "Epic"},
        "summary": params.name,
        "labels": [issue_label(dedup_key)],
        "description": text_document(text),
    }
    client = connector.client
    response = await client.post(f"{API}/issue", json={"fields": fields})
    raise_for_status(response, f"create the epic {params.name!r}")
    key = str(client.json(response)["key"])
    connector.remember_key_floor(key, int(key.rsplit("-", 1)[1]))
    return deal_epic_result(connector, key)


def deal_epic_result(connector: JiraConnector, key: str) -> ActionResult:
    """Return a deal's epic as the project actions report it, by its key."""
    url = f"{connector.config.base_url}/browse/{key}"
    project = connector.config.shared_project_key
    return ActionResult(
        external_id=key, url=url, data={"key": key, "project": project, "epic": key}
    )
