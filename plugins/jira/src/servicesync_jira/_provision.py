"""Laying out a whole deal in Jira: team, project, milestones, tasks."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from servicesync.contract import ActionResult

from servicesync_jira._actions_project import (
    AddTeamParams,
    CreateMilestoneParams,
    CreateProjectParams,
)
from servicesync_jira._actions_tasks import CreateTasksParams, TaskSpec
from servicesync_jira._connector import JiraConnector

__all__ = ["DeliveryPlan", "MilestoneSpec", "ProvisionResult", "provision"]


class MilestoneSpec(BaseModel):
    """A milestone and the refs of the tasks under it."""

    ref: str
    name: str
    due: date | None = None


class DeliveryPlan(BaseModel):
    """Everything a won deal becomes in Jira."""

    deal_id: str
    client: str
    name: str
    team: list[str] = []
    milestones: list[MilestoneSpec] = []
    tasks: list[TaskSpec] = []


class ProvisionResult(BaseModel):
    """What :func:`provision` made."""

    project: ActionResult
    team: ActionResult
    milestones: dict[str, str]
    tasks: ActionResult


async def provision(connector: JiraConnector, plan: DeliveryPlan) -> ProvisionResult:
    """Create the deal's project, team, milestones and tasks, each idempotently.

    The team is resolved first so that its first member can lead the
    project; milestone refs in tasks are replaced by the created ids.
    """
    actions = connector.actions()
    deal = f"deal:{plan.deal_id}"
    lead = None
    for email in plan.team:
        lead = lead or await connector.directory.account_id(email)
    project = await actions["create_project"].execute(
        f"{deal}:project",
        CreateProjectParams(name=plan.name, client=plan.client, lead_account_id=lead),
    )
    key = project.external_id
    team = await actions["add_team"].execute(
        f"{deal}:team", AddTeamParams(project_key=key, emails=plan.team)
    )
    milestones: dict[str, str] = {}
    for spec in plan.milestones:
        made = await actions["create_milestone"].execute(
            f"{deal}:milestone:{spec.ref}",
            CreateMilestoneParams(project_key=key, name=spec.name, due=spec.due),
        )
        milestones[spec.ref] = made.external_id
    tasks = [
        t.model_copy(
            update={"milestone": milestones.get(t.milestone or "", t.milestone)}
        )
        for t in plan.tasks
    ]
    created = await actions["create_tasks"].execute(
        f"{deal}:tasks", CreateTasksParams(project_key=key, tasks=tasks)
    )
    return ProvisionResult(
        project=project, team=team, milestones=milestones, tasks=created
    )
