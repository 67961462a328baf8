"""The won-deal flow: a staffed project in the delivery tool for a signed deal.

When a deal enters the flow's stage, the flow plans the project from the
deal's service (its template's milestones and tasks, its roles), chooses the
team by competencies, and asks the delivery connection to create the project,
its milestones, tasks and members; then it writes the project's link and a
comment back to the deal. Every remote write goes through the action journal
with a key derived from the deal, so the flow can run any number of times,
or be killed at any point, and still make exactly one project. A deal that
already has a project, adopted with ``servicesync link``, gets no other.

When a deal with a project is lost, or reopened after that, the flow's
``on_lost`` policy applies (see :mod:`servicesync.engine._lost_deal`).

A delivery connector takes part by offering the actions ``create_project``,
``create_milestone`` (or ``create_milestones``, several in one call),
``create_tasks`` and ``add_team`` (and ``mark_project``,
``unmark_project`` or ``archive_project`` for the ``on_lost`` policy that
needs them); a CRM connector by offering ``set_deal_fields`` and
``add_deal_comment``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select

from servicesync.config import FlowConfig
from servicesync.contract import Action, ActionResult, Connector
from servicesync.domain import (
    Allocation,
    Client,
    Competency,
    Deal,
    Expert,
    Milestone,
    Project,
    ProjectMember,
    ProjectTemplate,
    Service,
    ServiceRole,
    TemplateMilestone,
    TemplateTask,
)
from servicesync.engine._actions import perform
from servicesync.engine._failpoints import failpoint
from servicesync.engine._lost_deal import LostDealPolicy
from servicesync.engine._project_links import deal_project
from servicesync.engine._team import (
    Booking,
    Candidate,
    RoleNeed,
    TeamChoice,
    choose_team,
)
from servicesync.errors import ConfigError
from servicesync.store import Store

__all__ = ["PROJECT_CREATED", "WonDealFlow"]

logger = logging.getLogger(__name__)

#: The event told to plugins once a won deal's project exists.
PROJECT_CREATED = "project_created"


@dataclass
class _Plan:
    deal: Deal
    client: str
    service: Service | None
    start: date
    end: date
    milestones: list[TemplateMilestone]
    tasks: list[TemplateTask]
    team: TeamChoice


class WonDealFlow:
    """Runs the won-deal flow named ``name`` for deal stage events."""

    def __init__(
        self,
        store: Store,
        name: str,
        flow: FlowConfig,
        crm: Connector[Any],
        delivery: Connector[Any],
        *,
        consumers: Callable[[str], Sequence[str]] = lambda _type: (),
    ) -> None:
        self.store = store
        self.name = name
        self.flow = flow
        self.crm = crm
        self.delivery = delivery
        self.consumers = consumers
        self.lost = LostDealPolicy(self)

    @property
    def consumer(self) -> str:
        """The name its outbox deliveries carry."""
        return f"flow:{self.name}"

    async def handle(
        self, event_type: str, event_id: str, payload: dict[str, Any]
    ) -> None:
        """Take one outbox event: a deal lost, reopened, or entering the stage."""
        if event_type != "deal_stage_changed":
            return
        if payload.get("connection") != self.flow.source:
            return
        deal_id, external_id = payload["deal_id"], payload["external_id"]
        stage = payload.get("stage")
        turn = self.lost.turn(payload.get("previous_stage"), stage)
        if turn == "lost":
            await self.lost.deal_lost(event_id, deal_id, external_id)
        elif turn == "reopened":
            await self.lost.deal_reopened(event_id, deal_id, external_id)
        if stage == self.flow.on_stage:
            await self.run(deal_id, external_id)

    async def run(self, deal_id: str, deal_external_id: str) -> ActionResult:
        """Make (or find) the deal's project and link it back; return the project."""
        key = f"{self.name}:{deal_id}"
        adopted = self._adopted_project(deal_id, key)
        if adopted is not None:
            logger.info(
                "Flow %s: deal %s already has the project %s, linked by hand; "
                "no other is made.",
                self.name, deal_id, adopted.external_id,
            )  # fmt: skip
            return adopted
        plan = self._keep(key, self._plan(deal_id))
        project = await self.act(
            self.delivery,
            self.flow.target,
            "create_project",
            f"{key}:project",
            {
                "name": plan.deal.title,
                "client": plan.client,
                "description": _summary(plan),
            },
        )
        project_key = project.external_id
        # Tasks name their milestone by what the delivery tool made of it.
        milestone_ids = await self._make_milestones(key, project_key, plan)
        tasks = [_task_spec(task, plan, milestone_ids) for task in plan.tasks]
        if tasks:
            await self.act(
                self.delivery,
                self.flow.target,
                "create_tasks",
                f"{key}:tasks",
                {"project_key": project_key, "tasks": tasks},
            )
        emails = [member.email for member in plan.team.members]
        if emails:
            await self.act(
                self.delivery,
                self.flow.target,
                "add_team",
                f"{key}:team",
                {"project_key": project_key, "emails": emails},
            )
        self._save_project(plan, project)
        await self._write_back(key, deal_external_id, project, plan)
        failpoint("after_write_back")
        return project

    async def _make_milestones(
        self, key: str, project_key: str, plan: _Plan
    ) -> dict[str, str]:
        """Make the plan's milestones; return each one's id in the tool, by name.

        A tool that makes several milestones in one call offers
        ``create_milestones`` (its result's ``milestones`` maps each ``ref``
        to an id); else each is made by ``create_milestone``.
        """
        specs = [
            {
                "ref": milestone.name,
                "name": milestone.name,
                "due": plan.start + timedelta(days=milestone.offset_days),
            }
            for milestone in plan.milestones
        ]
        if specs and "create_milestones" in self.delivery.actions():
            made = await self.act(
                self.delivery,
                self.flow.target,
                "create_milestones",
                f"{key}:milestones",
                {"project_key": project_key, "milestones": specs},
            )
            return {str(r): str(i) for r, i in made.data["milestones"].items()}
        ids: dict[str, str] = {}
        for spec in specs:
            made = await self.act(
                self.delivery,
                self.flow.target,
                "create_milestone",
                f"{key}:milestone:{spec['name']}",
                {
                    "project_key": project_key,
                    "name": spec["name"],
                    "due": spec["due"],
                },
            )
            ids[str(spec["name"])] = made.external_id
        return ids

    async def act(
        self,
        connector: Connector[Any],
        connection: str,
        action_name: str,
        dedup_key: str,
        params: dict[str, Any],
    ) -> ActionResult:
        """Perform a connector's action once for ``dedup_key``, through the journal.

        Raises:
            ConfigError: the connector has no such action; the message names
                the connection, the action and this flow.
        """
        action: Action[Any] | None = connector.actions().get(action_name)
        if action is None:
            msg = (
                f"The connection {connection!r} ({connector.name}) has no action "
                f"{action_name!r}, which the flow {self.name!r} needs."
            )
            raise ConfigError(msg, key=f"flows.{self.name}")
        validated = action.params_model.model_validate(params)
        return await perform(self.store, connection, action, dedup_key, validated)

    async def write_link(
        self, dedup_key: str, deal_external_id: str, project: ActionResult
    ) -> None:
        """Put the project's link in the deal's ``link_field``, if one is set."""
        if not self.flow.link_field:
            return
        await self.act(
            self.crm,
            self.flow.source,
            "set_deal_fields",
            dedup_key,
            {
                "deal_id": deal_external_id,
                "fields": {self.flow.link_field: project.url or project.external_id},
            },
        )

    async def tell_deal(self, dedup_key: str, deal_external_id: str, text: str) -> None:
        """Add a comment to the deal's timeline."""
        await self.act(
            self.crm,
            self.flow.source,
            "add_deal_comment",
            dedup_key,
            {"deal_id": deal_external_id, "text": text},
        )

    async def _write_back(
        self, key: str, deal_external_id: str, project: ActionResult, plan: _Plan
    ) -> None:
        await self.write_link(f"{key}:deal-link", deal_external_id, project)
        link = project.url or project.external_id
        team = ", ".join(f"{m.name} ({m.role})" for m in plan.team.members) or "none"
        text = f"Delivery project {project.external_id} created: {link}. Team: {team}."
        await self.tell_deal(f"{key}:comment", deal_external_id, text)

    def _adopted_project(self, deal_id: str, key: str) -> ActionResult | None:
        """Return the deal's project when someone else than this flow made it."""
        linked = deal_project(self.store, deal_id, self.flow.target)
        if linked is None:
            return None
        made = self.store.journal_find(f"{key}:project")
        ours = made.result.get("external_id") if made and made.result else None
        if ours == linked.external_id:
            return None
        return ActionResult(external_id=linked.external_id)

    def _keep(self, key: str, plan: _Plan) -> _Plan:
        """Record the plan's dates and team before the first write; reuse them.

        The first attempt's choice stands. A retry after a crash must save
        the team and the dates the delivery tool was already given, even if
        allocations changed or a day went by in between.
        """
        entry = self.store.journal_begin(
            f"{key}:plan",
            self.flow.target,
            "plan",
            {"start": plan.start.isoformat(), "team": plan.team.explanation()},
        )
        if entry.status != "confirmed":
            self.store.journal_confirm(f"{key}:plan", {})
        start = date.fromisoformat(str(entry.params["start"]))
        return replace(
            plan,
            start=start,
            end=start + (plan.end - plan.start),
            team=TeamChoice.from_explanation(entry.params["team"]),
        )

    def _plan(self, deal_id: str) -> _Plan:
        today = self.store.now().date()
        with self.store.session() as session:
            deal = session.get(Deal, deal_id)
            if deal is None:
                raise LookupError(f"The deal {deal_id!r} is not in the store.")
            client = session.get(Client, deal.client_id) if deal.client_id else None
            service = session.get(Service, deal.service_id) if deal.service_id else None
            template = None
            if service is not None:
                template = session.exec(
                    select(ProjectTemplate).where(
                        ProjectTemplate.service_id == service.id
                    )
                ).first()
            milestones = list(
                session.exec(
                    select(TemplateMilestone)
                    .where(
                        TemplateMilestone.template_id
                        == (template.id if template else "")
                    )
                    .order_by(TemplateMilestone.position)  # type: ignore[arg-type]
                )
            )
            tasks = list(
                session.exec(
                    select(TemplateTask)
                    .where(
                        TemplateTask.template_id == (template.id if template else "")
                    )
                    .order_by(TemplateTask.position)  # type: ignore[arg-type]
                )
            )
            last = max(
                [m.offset_days for m in milestones]
                + [t.offset_days + t.duration_days for t in tasks]
                + [30]
            )
            end = today + timedelta(days=last)
            needs = _needs(session, service)
            candidates = _candidates(session)
        team = choose_team(needs, candidates, today, end, pinned=self.flow.pinned)
        return _Plan(
            deal=deal,
            client=client.name if client else deal.title,
            service=service,
            start=today,
            end=end,
            milestones=milestones,
            tasks=tasks,
            team=team,
        )

    def _save_project(self, plan: _Plan, project: ActionResult) -> None:
        with self.store.transaction() as tx:
            ids = self.store.link_ids(
                tx, self.flow.target, "project", [project.external_id]
            )
        project_id = ids[project.external_id]
        with self.store.session() as session:
            if session.get(Project, project_id) is not None:
                return
            hours = sum((t.hours for t in plan.tasks), Decimal(0))
            session.add(
                Project(
                    id=project_id,
                    name=plan.deal.title,
                    client_id=plan.deal.client_id,
                    deal_id=plan.deal.id,
                    template_id=plan.tasks[0].template_id if plan.tasks else None,
                    budget_hours=hours,
                    budget_amount=plan.deal.amount,
                    currency=plan.deal.currency,
                    start_date=plan.start,
                    end_date=plan.end,
                    team_explanation=plan.team.explanation(),
                )
            )
            session.flush()
            for pick in plan.team.members:
                session.add(
                    ProjectMember(
                        project_id=project_id, expert_id=pick.expert_id, role=pick.role
                    )
                )
                session.add(
                    Allocation(
                        expert_id=pick.expert_id,
                        project_id=project_id,
                        role=pick.role,
                        start_date=plan.start,
                        end_date=plan.end,
                        hours_per_week=_weekly_hours(plan, pick.role),
                    )
                )
            for position, milestone in enumerate(plan.milestones):
                session.add(
                    Milestone(
                        project_id=project_id,
                        name=milestone.name,
                        position=position,
                        due_date=plan.start + timedelta(days=milestone.offset_days),
                        amount=plan.deal.amount * milestone.share_percent / 100,
                        currency=plan.deal.currency,
                    )
                )
            # Told in the transaction that saves the project, so that it is
            # told exactly once, even if the process dies right after.
            consumers = self.consumers(PROJECT_CREATED)
            if consumers:
                self.store.outbox_append(
                    session.connection(),
                    PROJECT_CREATED,
                    {"project_id": project_id, "deal_id": plan.deal.id},
                    consumers,
                )


def _needs(session: Any, service: Service | None) -> list[RoleNeed]:
    if service is None:
        return []
    roles = session.exec(
        select(ServiceRole).where(ServiceRole.service_id == service.id)
    )
    return [
        RoleNeed(r.role, r.competency, r.min_level, r.headcount, r.typical_hours)
        for r in roles
    ]


def _candidates(session: Any) -> list[Candidate]:
    levels: dict[str, dict[str, list[tuple[date, int]]]] = {}
    for row in session.exec(select(Competency)):
        levels.setdefault(row.expert_id, {}).setdefault(row.competency, []).append(
            (row.since, row.level)
        )
    bookings: dict[str, list[Booking]] = {}
    for row in session.exec(select(Allocation)):
        bookings.setdefault(row.expert_id, []).append(
            Booking(row.start_date, row.end_date, row.hours_per_week)
        )
    return [
        Candidate(
            expert_id=e.id,
            email=e.email,
            name=e.name,
            weekly_capacity=e.weekly_capacity_hours,
            levels=levels.get(e.id, {}),
            bookings=bookings.get(e.id, []),
            active=e.active,
        )
        for e in session.exec(select(Expert).order_by(Expert.email))
    ]


def _task_spec(
    task: TemplateTask, plan: _Plan, milestone_ids: dict[str, str]
) -> dict[str, Any]:
    assignee = next((m.email for m in plan.team.members if m.role == task.role), None)
    return {
        "ref": task.name,
        "summary": task.name,
        "milestone": milestone_ids.get(task.milestone or ""),
        "assignee_email": assignee,
        "due": plan.start + timedelta(days=task.offset_days + task.duration_days),
    }


def _weekly_hours(plan: _Plan, role: str) -> Decimal:
    hours = sum((t.hours for t in plan.tasks if t.role == role), Decimal(0))
    weeks = max(Decimal((plan.end - plan.start).days) / 7, Decimal(1))
    return (hours / weeks).quantize(Decimal("0.01"))


def _summary(plan: _Plan) -> str:
    service = plan.service.name if plan.service else "no catalog service"
    return f"Delivery of {service} for {plan.client}, sold in deal {plan.deal.title!r}."
