"""The service catalog: what the consultancy sells and how it delivers it."""

from __future__ import annotations

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
)
from servicesync.domain._columns import EnumText

__all__ = [
    "PricingModel",
    "ProjectTemplate",
    "Service",
    "ServiceRole",
    "TemplateMilestone",
    "TemplateTask",
]


class PricingModel(StrEnum):
    """How a service is priced."""

    FIXED = "fixed"
    HOURLY = "hourly"
    SUCCESS_FEE = "success_fee"
    RETAINER = "retainer"


class Service(SQLModel, table=True):
    """A catalog card: one service the consultancy sells.

    ``packages`` holds the sold variants as a list of mappings (name,
    description, price); ``cost_factors`` and ``partners`` are lists of text.
    """

    __tablename__ = "services"

    id: str = id_field()
    code: str = Field(max_length=64, unique=True, description="The natural key.")
    name: str = Field(max_length=200)
    summary: str = ""
    audience: str = ""
    methodology: str = ""
    typical_duration_days: int | None = Field(default=None, ge=0)
    pricing_model: PricingModel = Field(
        default=PricingModel.FIXED, sa_type=EnumText(PricingModel)
    )
    typical_budget_min: Decimal | None = decimal_field(nullable=True)
    typical_budget_max: Decimal | None = decimal_field(nullable=True)
    currency: Currency = currency_field("EUR")
    typical_hours: Decimal | None = decimal_field(nullable=True)
    cost_factors: list[str] = json_field()
    packages: list[dict[str, Any]] = json_field()
    partners: list[str] = json_field()
    active: bool = True


class ServiceRole(SQLModel, table=True):
    """A role the typical team of a service needs, with its competency."""

    __tablename__ = "service_roles"
    __table_args__ = (UniqueConstraint("service_id", "role"),)

    id: str = id_field()
    service_id: str = Field(foreign_key="services.id", index=True)
    role: str = Field(max_length=100)
    competency: str = Field(max_length=100)
    min_level: int = Field(default=1, ge=1, le=5)
    headcount: int = Field(default=1, ge=1)
    typical_hours: Decimal = decimal_field()


class ProjectTemplate(SQLModel, table=True):
    """The plan a project of a service starts from."""

    __tablename__ = "project_templates"

    id: str = id_field()
    code: str = Field(max_length=64, unique=True)
    service_id: str = Field(foreign_key="services.id", index=True)
    name: str = Field(max_length=200)


class TemplateMilestone(SQLModel, table=True):
    """A milestone of a template, due ``offset_days`` after the start."""

    __tablename__ = "template_milestones"
    __table_args__ = (UniqueConstraint("template_id", "name"),)

    id: str = id_field()
    template_id: str = Field(foreign_key="project_templates.id", index=True)
    name: str = Field(max_length=200)
    position: int = 0
    offset_days: int = Field(default=0, ge=0)
    share_percent: Decimal = decimal_field()


class TemplateTask(SQLModel, table=True):
    """A task of a template, starting ``offset_days`` after the project start."""

    __tablename__ = "template_tasks"
    __table_args__ = (UniqueConstraint("template_id", "name"),)

    id: str = id_field()
    template_id: str = Field(foreign_key="project_templates.id", index=True)
    milestone: str | None = Field(
        default=None, max_length=200, description="Name of its template milestone."
    )
    name: str = Field(max_length=200)
    role: str | None = Field(default=None, max_length=100)
    position: int = 0
    offset_days: int = Field(default=0, ge=0)
    duration_days: int = Field(default=1, ge=0)
    hours: Decimal = decimal_field()
