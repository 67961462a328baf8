"""Actions that lay out a project: the project, its milestones, its team."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.errors import FatalError

from servicesync_jira._client import API
from servicesync_jira._epics import create_deal_epic, find_deal_epic, place
from servicesync_jira._errors import error_text, raise_for_status
from servicesync_jira._keys import issue_label, marker, project_key_candidates
from servicesync_jira._projects import project_result, read_project

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = [
    "AddTeam",
    "AddTeamParams",
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateProject",
    "CreateProjectParams",
]

logger = logging.getLogger(__name__)


class CreateProjectParams(BaseModel):
    """What a deal's project is made from."""

    name: str
    client: str
    description: str = ""
    lead_account_id: str | None = None


class CreateProject(Action[CreateProjectParams]):
    """Create the deal's project from the configured template.

    The key is derived from the client and the deal; the description carries
    ``servicesync:<token>``. A project found under a candidate key without
    that marker belongs to someone else and is never adopted: the next
    candidate is tried instead. In epic mode the deal gets an epic in the
    shared project instead, and its key stands for the project.
    """

    name = "create_project"
    params_model = CreateProjectParams

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateProjectParams
    ) -> ActionResult | None:
        if self.connector.config.mode == "epic":
            return await find_deal_epic(self.connector, dedup_key)
        for key in project_key_candidates(params.client, dedup_key):
            project = await self._get(key)
            if project is None:
                return None
            if marker(dedup_key) in str(project.get("description") or ""):
                return self._result(project["id"], key)
        return None

    async def execute(
        self, dedup_key: str, params: CreateProjectParams
    ) -> ActionResult:
        if self.connector.config.mode == "epic":
            return await create_deal_epic(self.connector, dedup_key, params)
        client = self.connector.client
        config = self.connector.config
        lead = params.lead_account_id or config.lead_account_id
        if lead is None:
            # Jira needs a lead; without one named, the connection's own user
            # leads, as when a person creates a project by hand.
            response = await client.get(f"{API}/myself")
            raise_for_status(response, "tell who the connection acts as")
            lead = str(client.json(response)["accountId"])
        for key in project_key_candidates(params.client, dedup_key):
            body = {
                "key": key,
                "name": f"{params.name} ({key})",
                "description": f"{params.description}\n\n{marker(dedup_key)}".strip(),
                "projectTypeKey": config.project_type_key,
                "projectTemplateKey": config.template_key,
                "leadAccountId": lead,
                "assigneeType": "UNASSIGNED",
            }
            response = await client.post(f"{API}/project", json=body)
            if response.status_code == 201:
                self.connector.remember_key_floor(key, 0)
                return self._result(client.json(response)["id"], key)
            if response.status_code != 400 or "projectKey" not in _errors(response):
                raise_for_status(response, f"create the project {key!r}")
            existing = await self._get(key)
            if existing and marker(dedup_key) in str(existing.get("description") or ""):
                return self._result(existing["id"], key)
            logger.info(
                "Project key %s is taken by another project; trying the next.", key
            )
        msg = (
            f"Every project key tried for {params.client!r} is taken "
            "by another project."
        )
        raise FatalError(msg, service="jira")

    async def _get(self, key: str) -> dict[str, Any] | None:
        return await read_project(self.connector, key)

    def _result(self, project_id: object, key: str) -> ActionResult:
        return project_result(self.connector, {"id": project_id, "key": key})


def _errors(response: Any) -> dict[str, Any]:
    try:
        return dict(response.json().get("errors") or {})
    except (ValueError, AttributeError):
        return {}


class CreateMilestoneParams(BaseModel):
    """One milestone of a project."""

    project_key: str
    name: str
    due: date | None = None
    start: date | None = None


class CreateMilestone(Action[CreateMilestoneParams]):
    """Create a milestone as a version with a due date, or as an epic."""

    name = "create_milestone"
    params_model = CreateMilestoneParams

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult | None:
        found = await self._find(dedup_key, params)
        if found is not None:
            self._remember_owner(params, found)
        return found

    async def execute(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult:
        made = await self._execute(dedup_key, params)
        self._remember_owner(params, made)
        return made

    def _remember_owner(
        self, params: CreateMilestoneParams, made: ActionResult
    ) -> None:
        """In epic mode, note whose deal epic the milestone is; two-way reads it."""
        _, deal_epic = place(self.connector.config, params.project_key)
        if deal_epic is not None:
            self.connector.milestone_owners.remember(made.external_id, deal_epic)

    async def _find(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult | None:
        if self.connector.config.milestones_as == "epics":
            found = await self.connector.tasks.reconcile(
                params.project_key, [issue_label(dedup_key)]
            )
            key = found.get(issue_label(dedup_key))
            return ActionResult(external_id=key, data={"kind": "epic"}) if key else None
        client = self.connector.client
        project, _ = place(self.connector.config, params.project_key)
        response = await client.get(f"{API}/project/{project}/versions")
        raise_for_status(response, f"list the versions of {project!r}")
        for version in client.json(response):
            if marker(dedup_key) in str(version.get("description") or ""):
                return ActionResult(
                    external_id=str(version["id"]), data={"kind": "version"}
                )
        return None

    async def _execute(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult:
        if self.connector.config.milestones_as == "epics":
            return await self._epic(dedup_key, params)
        body: dict[str, Any] = {
            "project": place(self.connector.config, params.project_key)[0],
            "name": params.name,
            "description": marker(dedup_key),
        }
        if params.due:
            body["releaseDate"] = params.due.isoformat()
        if params.start:
            body["startDate"] = params.start.isoformat()
        client = self.connector.client
        response = await client.post(f"{API}/version", json=body)
        if response.status_code == 400 and "name" in _errors(response):
            # The name is in use: ours from an earlier attempt, or someone else's.
            found = await self.find(dedup_key, params)
            if found is not None:
                return found
            body["name"] = f"{params.name} [{marker(dedup_key)[-6:]}]"
            response = await client.post(f"{API}/version", json=body)
        raise_for_status(response, f"create the version {params.name!r}")
        return ActionResult(
            external_id=str(client.json(response)["id"]), data={"kind": "version"}
        )

    async def _epic(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult:
        fields: dict[str, Any] = {
            "project": {"key": place(self.connector.config, params.project_key)[0]},
            "issuetype": {"name": "Epic"},
            "summary": params.name,
            "labels": [issue_label(dedup_key)],
        }
        if params.due:
            fields["duedate"] = params.due.isoformat()
        client = self.connector.client
        response = await client.post(f"{API}/issue", json={"fields": fields})
        raise_for_status(response, f"create the epic {params.name!r}")
        key = str(client.json(response)["key"])
        self.connector.remember_key_floor(
            params.project_key, int(key.rsplit("-", 1)[1])
        )
        return ActionResult(external_id=key, data={"kind": "epic"})


class AddTeamParams(BaseModel):
    """The people to make members of a project, by email."""

    project_key: str
    emails: list[str]


class AddTeam(Action[AddTeamParams]):
    """Give the team the member role in one call; report who was not found."""

    name = "add_team"
    params_model = AddTeamParams

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def find(self, dedup_key: str, params: AddTeamParams) -> ActionResult | None:
        accounts, unresolved = await self._resolve(params.emails)
        directory, client = self.connector.directory, self.connector.client
        project, _ = place(self.connector.config, params.project_key)
        role = await directory.role_id(project, self.connector.config.member_role)
        response = await client.get(f"{API}/project/{project}/role/{role}")
        raise_for_status(response, f"read role {role} of {project!r}")
        present = {
            a.get("actorUser", {}).get("accountId")
            for a in client.json(response)["actors"]
        }
        if set(accounts.values()) <= present:
            return self._result(params.project_key, accounts, unresolved)
        return None

    async def execute(self, dedup_key: str, params: AddTeamParams) -> ActionResult:
        accounts, unresolved = await self._resolve(params.emails)
        if accounts:
            directory, client = self.connector.directory, self.connector.client
            project, _ = place(self.connector.config, params.project_key)
            role = await directory.role_id(project, self.connector.config.member_role)
            response = await client.post(
                f"{API}/project/{project}/role/{role}",
                json={"user": sorted(set(accounts.values()))},
            )
            if response.status_code >= 400:
                logger.warning("Adding the team failed: %s", error_text(response))
            raise_for_status(response, f"add the team to {project!r}")
        return self._result(params.project_key, accounts, unresolved)

    async def _resolve(self, emails: list[str]) -> tuple[dict[str, str], list[str]]:
        accounts: dict[str, str] = {}
        unresolved: list[str] = []
        for email in emails:
            account = await self.connector.directory.account_id(email)
            if account is None:
                unresolved.append(email)
            else:
                accounts[email] = account
        return accounts, unresolved

    @staticmethod
    def _result(
        key: str, accounts: dict[str, str], unresolved: list[str]
    ) -> ActionResult:
        return ActionResult(
            external_id=key, data={"members": accounts, "unresolved": unresolved}
        )
