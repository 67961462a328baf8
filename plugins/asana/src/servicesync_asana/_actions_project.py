"""Actions that make a deal's project and staff it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.dedup import dedup_token, find_token, marker
from servicesync.errors import (
    FatalError,
    RecordError,
    RetryableError,
    ServiceUnavailable,
)
from servicesync_sdk.base import FindOrCreateAction

from servicesync_asana._client import batch_refusal, fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "AddTeam",
    "AddTeamParams",
    "CreateProject",
    "CreateProjectParams",
]

logger = logging.getLogger(__name__)

_PROJECT_FIELDS = ["name", "notes", "permalink_url"]
_JOB_FIELDS = ["status", "new_project", "new_project.name"]
_MAX_POLL_PAUSE = 30.0


class CreateProjectParams(BaseModel):
    """What a deal's project is made from."""

    name: str
    client: str = ""
    description: str = ""


class CreateProject(FindOrCreateAction[CreateProjectParams]):
    """Create the deal's project, plainly or from the configured template.

    A plain project carries the marker ``[servicesync:<token>]`` in its notes.
    A template's instantiation takes no notes, so the token goes at the end
    of the project's name instead; the job is followed until it ends. An
    earlier attempt's project is found by listing the team's (or the
    workspace's) projects: Asana's search is a paid feature.
    """

    name = "create_project"
    params_model = CreateProjectParams

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def execute(
        self, dedup_key: str, params: CreateProjectParams
    ) -> ActionResult:
        """Create the project; after a lost answer, look for it once.

        Unlike the base class this does not look before the first create: the
        engine's journal asks :meth:`find` before any repeated attempt, so a
        look here would only cost a request.
        """
        token = dedup_token(dedup_key)
        try:
            return await self.create(token, marker(token), params)
        except RetryableError:
            found = await self._find_after_failure(token, params)
            if found is None:
                raise
            logger.info("Found the project an attempt with a lost answer made")
            return found

    async def find_marked(
        self, token: str, params: CreateProjectParams
    ) -> ActionResult | None:
        path = self.connector.projects_path()
        query = {"opt_fields": fields(_PROJECT_FIELDS)}
        async for project in self.connector.api.walk(path, "list projects", query):
            texts = (project.get("name"), project.get("notes"))
            if any(find_token(text) == token for text in texts):
                return self._result(project)
        return None

    async def create(
        self, token: str, mark: str, params: CreateProjectParams
    ) -> ActionResult:
        if self.connector.config.project_template:
            return await self._instantiate(token, params)
        config = self.connector.config
        data: dict[str, Any] = {
            "name": params.name,
            "notes": f"{params.description}\n\n{mark}".strip(),
            "workspace": config.workspace,
        }
        if config.team:
            data["team"] = config.team
        project = await self.connector.api.write(
            "POST",
            "/projects",
            f"create the project {params.name!r}",
            data,
            {"opt_fields": fields(_PROJECT_FIELDS)},
        )
        return self._result(project)

    async def _instantiate(
        self, token: str, params: CreateProjectParams
    ) -> ActionResult:
        config = self.connector.config
        data: dict[str, Any] = {"name": f"{params.name} [{token}]"}
        if config.team:
            data["team"] = config.team
        job = await self.connector.api.write(
            "POST",
            f"/project_templates/{config.project_template}/instantiateProject",
            f"instantiate the template for {params.name!r}",
            data,
            {"opt_fields": fields(_JOB_FIELDS)},
        )
        project = await self._follow(job)
        return self._result(project, templated=True)

    async def _follow(self, job: dict[str, Any]) -> dict[str, Any]:
        """Poll the instantiation job until it succeeds; return its project."""
        clock = self.connector.context.clock
        config = self.connector.config
        pause, waited = config.job_poll_seconds, 0.0
        while job.get("status") not in ("succeeded", "failed"):
            if waited >= config.job_timeout_seconds:
                # Retryable: the project exists under its marked name, and
                # the next attempt finds it there.
                msg = (
                    f"The template job {job.get('gid')!r} still runs after "
                    f"{waited:.0f}s; the next attempt looks for its project."
                )
                raise ServiceUnavailable(msg, service="asana", endpoint="GET /jobs")
            await clock.sleep(pause)
            waited += pause
            pause = min(pause * 1.5, _MAX_POLL_PAUSE)
            job = await self._poll(job)
        if job.get("status") == "failed" or not job.get("new_project"):
            msg = f"Asana could not instantiate the template (job {job.get('gid')!r})."
            raise FatalError(msg, service="asana", endpoint="GET /jobs")
        return dict(job["new_project"])

    async def _poll(self, job: dict[str, Any]) -> dict[str, Any]:
        """Read the job again, and with it the sections of its project.

        The template's sections arrive with the project; reading them in the
        same ``/batch`` call lets the milestones reuse them without a
        request of their own.
        """
        api = self.connector.api
        read_job = {
            "relative_path": f"/jobs/{job['gid']}",
            "method": "get",
            "options": {"fields": _JOB_FIELDS},
        }
        project = (job.get("new_project") or {}).get("gid")
        if not project:
            return dict(
                await api.read(
                    f"/jobs/{job['gid']}",
                    "follow the template job",
                    {"opt_fields": fields(_JOB_FIELDS)},
                )
            )
        read_sections = {
            "relative_path": f"/projects/{project}/sections",
            "method": "get",
            "options": {"fields": ["name"], "limit": 100},
        }
        polled, sections = await api.batch([read_job, read_sections])
        if not polled.ok:
            raise batch_refusal(polled, "follow the template job")
        if polled.data.get("status") == "succeeded" and sections.ok:
            self.connector.sections.take_listing(str(project), sections.body)
        return dict(polled.data)

    def _result(self, project: dict[str, Any], templated: bool = False) -> ActionResult:
        gid = str(project["gid"])
        url = project.get("permalink_url") or self.connector.project_url(gid)
        self.connector.remember_project(gid)
        return ActionResult(
            external_id=gid,
            url=url,
            data={"name": project.get("name"), "from_template": templated},
        )


class AddTeamParams(BaseModel):
    """The people to make members of a project, by email."""

    project_key: str
    emails: list[str]


class AddTeam(Action[AddTeamParams]):
    """Add the whole team with one ``addMembers`` call, by email.

    Asana takes emails where it takes user ids. When it refuses the list
    (someone is not in the workspace), the workspace's users are listed once,
    the known members are added and the others reported as ``unresolved``.
    """

    name = "add_team"
    params_model = AddTeamParams

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def find(self, dedup_key: str, params: AddTeamParams) -> ActionResult | None:
        """Return the result when every member Asana knows is in the project."""
        project = await self.connector.api.read(
            f"/projects/{params.project_key}",
            "read the project's members",
            {"opt_fields": fields(["members", "members.name"])},
        )
        present = {str(m["gid"]) for m in project.get("members") or []}
        users = await self.connector.directory.by_email()
        emails = _unique(params.emails)
        resolved = [e for e in emails if e.lower() in users]
        if {users[e.lower()] for e in resolved} <= present:
            unresolved = [e for e in emails if e.lower() not in users]
            return self._result(params.project_key, resolved, unresolved)
        return None

    async def execute(self, dedup_key: str, params: AddTeamParams) -> ActionResult:
        """Add the team; adding a member twice changes nothing in Asana."""
        emails = _unique(params.emails)
        if not emails:
            return self._result(params.project_key, [], [])
        try:
            await self._add(params.project_key, emails)
            return self._result(params.project_key, emails, [])
        except RecordError:
            logger.info("Asana refused part of the team; resolving members by email")
        users = await self.connector.directory.by_email()
        resolved = [e for e in emails if e.lower() in users]
        unresolved = [e for e in emails if e.lower() not in users]
        if resolved:
            await self._add(params.project_key, [users[e.lower()] for e in resolved])
        return self._result(params.project_key, resolved, unresolved)

    async def _add(self, project: str, members: list[str]) -> None:
        await self.connector.api.write(
            "POST",
            f"/projects/{project}/addMembers",
            "add the team to the project",
            {"members": ",".join(members)},
            {"opt_fields": "name"},
        )

    @staticmethod
    def _result(
        project: str, members: list[str], unresolved: list[str]
    ) -> ActionResult:
        return ActionResult(
            external_id=project,
            data={"members": members, "unresolved": unresolved},
        )


def _unique(emails: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for email in emails:
        cleaned = email.strip()
        if cleaned and cleaned.lower() not in seen:
            seen[cleaned.lower()] = cleaned
    return list(seen.values())
