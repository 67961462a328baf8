"""Milestones as sections of the deal's project.

Sections carry no notes, so a section is recognised by its name within the
deal's own project (which carries the deal's marker): the flow names each
milestone once per deal. Created sections are remembered in the
connection's state, so tasks find their section without asking Asana.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.errors import RetryableError, ServiceUnavailable

from servicesync_asana._client import BATCH_SIZE, batch_refusal, fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateMilestones",
    "CreateMilestonesParams",
    "MilestoneSpec",
    "Sections",
]

logger = logging.getLogger(__name__)


class Sections:
    """The sections of projects, by name, as far as this connection knows them."""

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    def known(self, project: str) -> dict[str, str]:
        """Return ``{name: gid}`` of the sections remembered for ``project``."""
        raw = self.connector.context.state.get(f"sections:{project}")
        return dict(json.loads(raw)) if raw else {}

    def remember(self, project: str, found: dict[str, str]) -> None:
        """Add ``{name: gid}`` to what is remembered for ``project``."""
        known = self.known(project)
        known.update(found)
        self.connector.context.state.put(f"sections:{project}", json.dumps(known))

    def renamed(self, project: str, gid: str, name: str) -> None:
        """Remember the section ``gid`` under its new ``name`` only."""
        known = {n: g for n, g in self.known(project).items() if g != gid}
        known[name] = gid
        self.connector.context.state.put(f"sections:{project}", json.dumps(known))

    async def listed(self, project: str) -> dict[str, str]:
        """List the project's sections in Asana; remember and return them."""
        found: dict[str, str] = {}
        async for section in self.connector.api.walk(
            f"/projects/{project}/sections",
            "list the project's sections",
            {"opt_fields": fields(["name"])},
        ):
            found.setdefault(str(section["name"]), str(section["gid"]))
        self._complete(project, found)
        return found

    def take_listing(self, project: str, body: Mapping[str, Any]) -> None:
        """Remember a whole first page of sections read elsewhere (in a batch).

        A listing that goes on past its first page is only added to what is
        known, not taken as complete.
        """
        rows = body.get("data") or []
        found = {str(r["name"]): str(r["gid"]) for r in reversed(rows)}
        if body.get("next_page"):
            self.remember(project, found)
        else:
            self._complete(project, found)

    async def present(self, project: str) -> dict[str, str]:
        """Return every section of ``project``, from memory when it is complete."""
        if self.connector.context.state.get(f"sections-complete:{project}"):
            return self.known(project)
        return await self.listed(project)

    def _complete(self, project: str, found: dict[str, str]) -> None:
        self.remember(project, found)
        self.connector.context.state.put(f"sections-complete:{project}", "1")

    async def resolve(self, project: str, names: set[str]) -> dict[str, str]:
        """Return the section gid for each of ``names`` (a name or a gid).

        Names not remembered are looked up with one listing; a name that no
        section has is left out.
        """
        known = self.known(project)
        gids = set(known.values())
        missing = {n for n in names if n not in known and n not in gids}
        if missing:
            known = {**known, **await self.listed(project)}
            gids = set(known.values())
        resolved = {n: known[n] for n in names if n in known}
        resolved.update({n: n for n in names if n in gids})
        return resolved

    async def create(self, project: str, names: list[str]) -> dict[str, str]:
        """Create sections named ``names``, ten per ``/batch`` call.

        An answer lost on the way is settled by listing the project's
        sections, and only the sections still missing are sent again.
        """
        made: dict[str, str] = {}
        for start in range(0, len(names), BATCH_SIZE):
            chunk = names[start : start + BATCH_SIZE]
            try:
                made.update(await self._create_chunk(project, chunk))
            except RetryableError:
                listed = await self.listed(project)
                made.update({n: listed[n] for n in chunk if n in listed})
                rest = [n for n in chunk if n not in listed]
                if rest:
                    made.update(await self._create_chunk(project, rest))
        self.remember(project, made)
        return made

    async def _create_chunk(self, project: str, names: list[str]) -> dict[str, str]:
        actions = [
            {
                "relative_path": f"/projects/{project}/sections",
                "method": "post",
                "data": {"name": name},
                "options": {"fields": ["name"]},
            }
            for name in names
        ]
        answers = await self.connector.api.batch(actions)
        made: dict[str, str] = {}
        for name, answer in zip(names, answers, strict=True):
            if answer.ok:
                made[name] = str(answer.data["gid"])
            elif answer.status == 429 or answer.status >= 500:
                msg = f"Creating the section {name!r} failed ({answer.status})."
                raise ServiceUnavailable(msg, service="asana", endpoint="POST /batch")
            else:
                raise batch_refusal(answer, f"create the section {name!r}")
        return made


class CreateMilestoneParams(BaseModel):
    """One milestone of a project: its section's name (Asana keeps no dates)."""

    project_key: str
    name: str
    due: date | None = None
    start: date | None = None


class CreateMilestone(Action[CreateMilestoneParams]):
    """Create one section for a milestone.

    In a project made from a template, a section of the same name may
    already be there; it is used instead of making a second one.
    """

    name = "create_milestone"
    params_model = CreateMilestoneParams

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult | None:
        sections = self.connector.sections
        found = sections.known(params.project_key).get(params.name)
        found = found or (await sections.present(params.project_key)).get(params.name)
        return self._result(found) if found else None

    async def execute(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult:
        if self.connector.config.project_template:
            found = await self.find(dedup_key, params)
            if found is not None:
                return found
        sections = self.connector.sections
        made = await sections.create(params.project_key, [params.name])
        return self._result(made[params.name])

    @staticmethod
    def _result(gid: str) -> ActionResult:
        return ActionResult(external_id=gid, data={"kind": "section"})


class MilestoneSpec(BaseModel):
    """A milestone of a plan: ``ref`` names it for the tasks under it."""

    ref: str
    name: str
    due: date | None = None


class CreateMilestonesParams(BaseModel):
    """Several milestones of one project, made together."""

    project_key: str
    milestones: list[MilestoneSpec]


class CreateMilestones(Action[CreateMilestonesParams]):
    """Create the sections of several milestones, ten per ``/batch`` call."""

    name = "create_milestones"
    params_model = CreateMilestonesParams

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateMilestonesParams
    ) -> ActionResult | None:
        listed = await self.connector.sections.listed(params.project_key)
        if all(m.name in listed for m in params.milestones):
            return self._result(params, listed)
        return None

    async def execute(
        self, dedup_key: str, params: CreateMilestonesParams
    ) -> ActionResult:
        sections = self.connector.sections
        present: dict[str, str] = {}
        if self.connector.config.project_template:
            present = await sections.present(params.project_key)
        wanted = list(dict.fromkeys(m.name for m in params.milestones))
        missing = [n for n in wanted if n not in present]
        made = await sections.create(params.project_key, missing) if missing else {}
        return self._result(params, {**present, **made})

    @staticmethod
    def _result(
        params: CreateMilestonesParams, by_name: dict[str, Any]
    ) -> ActionResult:
        refs = {m.ref: str(by_name[m.name]) for m in params.milestones}
        # ``milestones`` is what the won-deal flow reads; ``sections`` the
        # plugin's own name for the same.
        return ActionResult(
            external_id=params.project_key,
            data={"milestones": refs, "sections": refs},
        )
