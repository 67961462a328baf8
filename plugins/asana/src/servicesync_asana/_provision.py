"""Laying out a whole deal in Asana: project, sections, tasks, team."""

from __future__ import annotations

from pydantic import BaseModel
from servicesync.contract import ActionResult

from servicesync_asana._actions_project import AddTeamParams, CreateProjectParams
from servicesync_asana._actions_sections import CreateMilestonesParams, MilestoneSpec
from servicesync_asana._actions_tasks import CreateTasksParams, TaskSpec
from servicesync_asana._connector import AsanaConnector

__all__ = ["DeliveryPlan", "ProvisionResult", "provision"]


class DeliveryPlan(BaseModel):
    """Everything a won deal becomes in Asana.

    A task's ``milestone`` is the ``ref`` of one of the plan's milestones.
    """

    deal_id: str
    client: str
    name: str
    description: str = ""
    team: list[str] = []
    milestones: list[MilestoneSpec] = []
    tasks: list[TaskSpec] = []


class ProvisionResult(BaseModel):
    """What :func:`provision` made."""

    project: ActionResult
    sections: dict[str, str]
    tasks: ActionResult
    team: ActionResult


async def provision(connector: AsanaConnector, plan: DeliveryPlan) -> ProvisionResult:
    """Create the deal's project, its sections, tasks and team, each idempotently.

    Sections are made together (ten per ``/batch`` call) and tasks find
    theirs by the plan's milestone refs, so a project with 3 milestones,
    40 tasks and a team of 4 costs 1 + 1 + 4 + 1 requests.
    """
    actions = connector.actions()
    deal = f"deal:{plan.deal_id}"
    project = await actions["create_project"].execute(
        f"{deal}:project",
        CreateProjectParams(
            name=plan.name, client=plan.client, description=plan.description
        ),
    )
    gid = project.external_id
    sections: dict[str, str] = {}
    if plan.milestones:
        made = await actions["create_milestones"].execute(
            f"{deal}:milestones",
            CreateMilestonesParams(project_key=gid, milestones=plan.milestones),
        )
        sections = dict(made.data["sections"])
    tasks = [
        t.model_copy(update={"milestone": sections.get(t.milestone or "", t.milestone)})
        for t in plan.tasks
    ]
    created = await actions["create_tasks"].execute(
        f"{deal}:tasks", CreateTasksParams(project_key=gid, tasks=tasks)
    )
    team = await actions["add_team"].execute(
        f"{deal}:team", AddTeamParams(project_key=gid, emails=plan.team)
    )
    return ProvisionResult(project=project, sections=sections, tasks=created, team=team)
