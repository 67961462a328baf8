"""Delivery: projects, their team and milestones, tasks and time entries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from servicesync.domain._base import (
    Currency,
    currency_field,
    decimal_field,
    id_field,
    json_field,
    time_field,
)
from servicesync.domain._columns import EnumText

__all__ = [
    "Milestone",
    "Project",
    "ProjectMember",
    "ProjectStatus",
    "Task",
    "TimeEntry",
]


class ProjectStatus(StrEnum):
    """Where a project stands."""

    PLANNED = "planned"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    DONE = "done"
    CANCELLED = "cancelled"


class Project(SQLModel, table=True):
    """Work sold by a deal, planned from a template, with a budget."""

    __tablename__ = "projects"

    id: str = id_field()
    name: str = Field(max_length=300)
    client_id: str | None = Field(default=None, foreign_key="clients.id", index=True)
    deal_id: str | None = Field(default=None, foreign_key="deals.id", index=True)
    template_id: str | None = Field(default=None, foreign_key="project_templates.id")
    status: ProjectStatus = Field(
        default=ProjectStatus.PLANNED, sa_type=EnumText(ProjectStatus)
    )
    budget_hours: Decimal = decimal_field()
    budget_amount: Decimal = decimal_field()
    currency: Currency = currency_field("EUR")
    start_date: date | None = None
    end_date: date | None = None
    team_explanation: dict[str, Any] = json_field(dict)


class ProjectMember(SQLModel, table=True):
    """An expert on a project's team in a role."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "expert_id", "role"),)

    id: str = id_field()
    project_id: str = Field(foreign_key="projects.id", index=True)
    expert_id: str = Field(foreign_key="experts.id", index=True)
    role: str = Field(max_length=100)


class Milestone(SQLModel, table=True):
    """A billing unit of a project: a due date and the amount it unlocks."""

    __tablename__ = "milestones"

    id: str = id_field()
    project_id: str = Field(foreign_key="projects.id", index=True)
    name: str = Field(max_length=200)
    position: int = 0
    due_date: date | None = None
    amount: Decimal = decimal_field()
    currency: Currency = currency_field("EUR")
    reached_at: datetime | None = time_field(nullable=True)


class Task(SQLModel, table=True):
    """A piece of work on a project."""

    __tablename__ = "tasks"

    id: str = id_field()
    project_id: str = Field(foreign_key="projects.id", index=True)
    milestone_id: str | None = Field(default=None, foreign_key="milestones.id")
    name: str = Field(max_length=500)
    status: str = Field(default="open", max_length=32)
    assignee_id: str | None = Field(default=None, foreign_key="experts.id")
    estimate_hours: Decimal | None = decimal_field(nullable=True)
    due_date: date | None = None


class TimeEntry(SQLModel, table=True):
    """Time an expert spent; ``source`` names the system it came from."""

    __tablename__ = "time_entries"

    id: str = id_field()
    expert_id: str | None = Field(default=None, foreign_key="experts.id", index=True)
    project_id: str | None = Field(default=None, foreign_key="projects.id", index=True)
    task_id: str | None = Field(default=None, foreign_key="tasks.id")
    started_at: datetime = time_field()
    duration_seconds: int = Field(ge=0)
    billable: bool = False
    note: str = ""
    source: str = Field(default="manual", max_length=100)
