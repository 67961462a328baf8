"""The sales funnel: pipelines, stages with semantics, deals and their history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

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
from servicesync.domain._services import PricingModel

__all__ = [
    "Deal",
    "Pipeline",
    "Stage",
    "StageChange",
    "StageSemantics",
    "default_pipeline",
]


class StageSemantics(StrEnum):
    """What being in a stage means: still in progress, won or lost."""

    PROCESS = "process"
    SUCCESS = "success"
    FAILURE = "failure"


class Pipeline(SQLModel, table=True):
    """A funnel of stages a deal moves through."""

    __tablename__ = "pipelines"

    id: str = id_field()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    is_default: bool = False


class Stage(SQLModel, table=True):
    """A stage of a pipeline, with its goal, activities and probability."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("pipeline_id", "code"),)

    id: str = id_field()
    pipeline_id: str = Field(foreign_key="pipelines.id", index=True)
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    position: int = 0
    semantics: StageSemantics = Field(
        default=StageSemantics.PROCESS, sa_type=EnumText(StageSemantics)
    )
    probability: int = Field(default=0, ge=0, le=100)
    goal: str = ""
    key_activities: list[str] = json_field()


class Deal(SQLModel, table=True):
    """A sale in progress or closed; ``probability`` overrides the stage's."""

    __tablename__ = "deals"

    id: str = id_field()
    title: str = Field(max_length=300)
    client_id: str | None = Field(default=None, foreign_key="clients.id", index=True)
    service_id: str | None = Field(default=None, foreign_key="services.id")
    pipeline_id: str | None = Field(default=None, foreign_key="pipelines.id")
    stage_id: str | None = Field(default=None, foreign_key="stages.id", index=True)
    amount: Decimal = decimal_field()
    currency: Currency = currency_field("EUR")
    pricing_model: PricingModel = Field(
        default=PricingModel.FIXED, sa_type=EnumText(PricingModel)
    )
    estimate_min_hours: Decimal | None = decimal_field(nullable=True)
    estimate_max_hours: Decimal | None = decimal_field(nullable=True)
    probability: int | None = Field(default=None, ge=0, le=100)
    owner: str | None = Field(default=None, max_length=200)
    expected_close: date | None = None
    lost_reason: str | None = None
    created_at: datetime = time_field()
    closed_at: datetime | None = time_field(nullable=True)


class StageChange(SQLModel, table=True):
    """One move of a deal from a stage to another."""

    __tablename__ = "deal_stage_changes"

    id: str = id_field()
    deal_id: str = Field(foreign_key="deals.id", index=True)
    from_stage_id: str | None = Field(default=None, foreign_key="stages.id")
    to_stage_id: str = Field(foreign_key="stages.id")
    changed_at: datetime = time_field()
    changed_by: str | None = Field(default=None, max_length=200)


_DEFAULT_STAGES: tuple[tuple[str, str, StageSemantics, int, str, list[str]], ...] = (
    ("acquaintance", "Acquaintance", StageSemantics.PROCESS, 5,
     "Learn who the client is and whether there is a need.",
     ["first call", "qualify the need"]),
    ("diagnostics", "Diagnostics", StageSemantics.PROCESS, 15,
     "Understand the problem well enough to shape a service.",
     ["diagnostic session", "collect data"]),
    ("proposal", "Proposal", StageSemantics.PROCESS, 30,
     "Offer a service with an estimate range and a price.",
     ["write the proposal", "present it"]),
    ("statement_of_work", "Statement of work", StageSemantics.PROCESS, 50,
     "Agree on scope, deliverables and milestones.",
     ["draft the statement of work", "review with the client"]),
    ("negotiation", "Commercial negotiation", StageSemantics.PROCESS, 70,
     "Settle price, payment terms and the contract text.",
     ["negotiate terms", "legal review"]),
    ("contract_signed", "Contract signed", StageSemantics.PROCESS, 90,
     "The contract is signed; delivery can start.", ["hand over to delivery"]),
    ("won", "Won", StageSemantics.SUCCESS, 100,
     "The deal is closed as won.", ["invoice the milestones"]),
    ("lost", "Lost", StageSemantics.FAILURE, 0,
     "The client declined or the deal was dropped.", ["record the reason"]),
)  # fmt: skip


def default_pipeline() -> tuple[Pipeline, list[Stage]]:
    """Build the default services funnel: six stages, then won or lost.

    The rows are new and unsaved; the catalog import saves them once.
    """
    pipeline = Pipeline(code="services", name="Services", is_default=True)
    stages = [
        Stage(
            pipeline_id=pipeline.id,
            code=code,
            name=name,
            position=position,
            semantics=semantics,
            probability=probability,
            goal=goal,
            key_activities=activities,
        )
        for position, (code, name, semantics, probability, goal, activities) in (
            enumerate(_DEFAULT_STAGES)
        )
    ]
    return pipeline, stages
