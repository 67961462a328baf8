"""Reading one project, and the result every project action answers with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult

from servicesync_jira._client import API
from servicesync_jira._errors import raise_for_status

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = ["MARK_PREFIX", "marked_line", "project_result", "read_project"]

#: How the line a lost-deal mark adds to a project's description begins.
MARK_PREFIX = "[servicesync mark] "


async def read_project(
    connector: JiraConnector, id_or_key: str
) -> dict[str, Any] | None:
    """Return ``GET /project/{id_or_key}``, or ``None`` when there is none."""
    client = connector.client
    response = await client.get(f"{API}/project/{id_or_key}")
    if response.status_code == 404:
        return None
    raise_for_status(response, f"read the project {id_or_key!r}")
    return client.json(response)  # type: ignore[no-any-return]


def project_result(connector: JiraConnector, project: dict[str, Any]) -> ActionResult:
    """Return a project as the project actions report it: by key, with its page."""
    key = str(project["key"])
    url = f"{connector.config.base_url}/browse/{key}"
    data: dict[str, Any] = {"id": str(project["id"]), "key": key}
    if "name" in project:
        data["name"] = str(project["name"])
    if project.get("archived"):
        data["archived"] = True
    return ActionResult(external_id=key, url=url, data=data)


def marked_line(description: str) -> str | None:
    """Return the mark line of a project description, if it carries one."""
    for line in description.splitlines():
        if line.startswith(MARK_PREFIX):
            return line
    return None
