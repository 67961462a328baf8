"""Experts: competencies over time, certificates, rates, capacity, identities."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Field, SQLModel, UniqueConstraint

from servicesync.domain._base import Currency, currency_field, decimal_field, id_field
from servicesync.domain._columns import EnumText

__all__ = [
    "Allocation",
    "Certificate",
    "Competency",
    "Expert",
    "ExpertIdentity",
    "IdentityResolution",
]


class Expert(SQLModel, table=True):
    """A person who delivers work; ``email`` is the natural key."""

    __tablename__ = "experts"

    id: str = id_field()
    email: str = Field(max_length=320, unique=True)
    name: str = Field(max_length=200)
    title: str | None = Field(default=None, max_length=200)
    grade: str | None = Field(default=None, max_length=64)
    cost_rate: Decimal = decimal_field()
    bill_rate: Decimal = decimal_field()
    currency: Currency = currency_field("EUR")
    weekly_capacity_hours: Decimal = decimal_field()
    active: bool = True


class Competency(SQLModel, table=True):
    """One dated step in an expert's level on a competency.

    The current level is the row with the latest ``since``; the earlier rows
    are the history (for example, the date someone became senior).
    """

    __tablename__ = "expert_competencies"
    __table_args__ = (UniqueConstraint("expert_id", "competency", "since"),)

    id: str = id_field()
    expert_id: str = Field(foreign_key="experts.id", index=True)
    competency: str = Field(max_length=100)
    level: int = Field(ge=1, le=5)
    since: date


class Certificate(SQLModel, table=True):
    """A certificate an expert holds."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("expert_id", "name"),)

    id: str = id_field()
    expert_id: str = Field(foreign_key="experts.id", index=True)
    name: str = Field(max_length=200)
    issuer: str | None = Field(default=None, max_length=200)
    issued_on: date | None = None
    expires_on: date | None = None


class Allocation(SQLModel, table=True):
    """Hours a week an expert is booked on a project between two dates."""

    __tablename__ = "allocations"

    id: str = id_field()
    expert_id: str = Field(foreign_key="experts.id", index=True)
    project_id: str = Field(foreign_key="projects.id", index=True)
    role: str | None = Field(default=None, max_length=100)
    start_date: date
    end_date: date
    hours_per_week: Decimal = decimal_field()


class IdentityResolution(StrEnum):
    """How an identity was tied to an expert."""

    RESOLVED = "resolved"
    MANUAL = "manual"


class ExpertIdentity(SQLModel, table=True):
    """Who an expert is in one connected system (a user id there)."""

    __tablename__ = "expert_identities"
    __table_args__ = (UniqueConstraint("connection", "external_id"),)

    id: str = id_field()
    expert_id: str = Field(foreign_key="experts.id", index=True)
    system: str = Field(max_length=64, description="The service, such as jira.")
    connection: str = Field(max_length=100, description="The config's connection.")
    external_id: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    resolution: IdentityResolution = Field(
        default=IdentityResolution.RESOLVED, sa_type=EnumText(IdentityResolution)
    )
