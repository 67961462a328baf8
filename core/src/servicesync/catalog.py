"""Import and export the service catalog: services, templates and experts.

The catalog file is YAML (experts may also come from CSV). Every item is
keyed by a natural key (a service's or template's ``code``, an expert's
``email``), so importing the same file twice leaves the same rows, and an
exported file imports back to the same catalog. Lists under an item (roles,
milestones, competencies...) mirror the file: entries missing from it are
removed.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, SQLModel, col, select

from servicesync.domain import (
    Certificate,
    Competency,
    Expert,
    ExpertIdentity,
    IdentityResolution,
    Pipeline,
    PricingModel,
    ProjectTemplate,
    Service,
    ServiceRole,
    TemplateMilestone,
    TemplateTask,
    default_pipeline,
)
from servicesync.domain._base import Currency
from servicesync.errors import ConfigError
from servicesync.store import Store

__all__ = [
    "CatalogFile",
    "ImportSummary",
    "dump_catalog",
    "export_catalog",
    "import_catalog",
    "load_catalog_file",
    "read_experts_csv",
]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=SQLModel)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoleSpec(_Spec):
    role: str
    competency: str
    min_level: int = Field(default=1, ge=1, le=5)
    headcount: int = Field(default=1, ge=1)
    typical_hours: Decimal = Decimal(0)


class MilestoneSpec(_Spec):
    name: str
    offset_days: int = Field(default=0, ge=0)
    share_percent: Decimal = Decimal(0)


class TaskSpec(_Spec):
    name: str
    milestone: str | None = None
    role: str | None = None
    offset_days: int = Field(default=0, ge=0)
    duration_days: int = Field(default=1, ge=0)
    hours: Decimal = Decimal(0)


class TemplateSpec(_Spec):
    code: str
    name: str
    milestones: list[MilestoneSpec] = []
    tasks: list[TaskSpec] = []


class BudgetSpec(_Spec):
    min: Decimal | None = None
    max: Decimal | None = None


class ServiceSpec(_Spec):
    code: str
    name: str
    summary: str = ""
    audience: str = ""
    methodology: str = ""
    typical_duration_days: int | None = None
    pricing_model: PricingModel = PricingModel.FIXED
    currency: Currency = "EUR"
    typical_budget: BudgetSpec = BudgetSpec()
    typical_hours: Decimal | None = None
    cost_factors: list[str] = []
    packages: list[dict[str, Any]] = []
    partners: list[str] = []
    roles: list[RoleSpec] = []
    templates: list[TemplateSpec] = []


class CompetencySpec(_Spec):
    competency: str
    level: int = Field(ge=1, le=5)
    since: date


class CertificateSpec(_Spec):
    name: str
    issuer: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None


class IdentitySpec(_Spec):
    system: str
    connection: str
    external_id: str
    email: str | None = None
    resolution: IdentityResolution = IdentityResolution.MANUAL


class ExpertSpec(_Spec):
    email: str
    name: str
    title: str | None = None
    grade: str | None = None
    cost_rate: Decimal = Decimal(0)
    bill_rate: Decimal = Decimal(0)
    currency: Currency = "EUR"
    weekly_capacity_hours: Decimal = Decimal(40)
    competencies: list[CompetencySpec] = []
    certificates: list[CertificateSpec] = []
    identities: list[IdentitySpec] = []


class CatalogFile(_Spec):
    """The content of a catalog file."""

    services: list[ServiceSpec] = []
    experts: list[ExpertSpec] = []


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How many items of each kind a catalog import went through."""

    services: int
    templates: int
    experts: int


def load_catalog_file(path: Path) -> CatalogFile:
    """Read a YAML catalog, or a CSV of experts, from ``path``.

    Raises:
        ConfigError: the file cannot be read or does not fit the format.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror}", path=str(path)
        ) from exc
    try:
        if path.suffix.lower() == ".csv":
            return CatalogFile(experts=read_experts_csv(text.splitlines()))
        return CatalogFile.model_validate(yaml.safe_load(text) or {})
    except yaml.YAMLError as exc:
        raise ConfigError(f"the file is not valid YAML: {exc}", path=str(path)) from exc
    except (ValidationError, ValueError) as exc:
        raise ConfigError(
            f"the catalog does not fit the format: {exc}", path=str(path)
        ) from exc


def read_experts_csv(lines: Iterable[str]) -> list[ExpertSpec]:
    """Read experts from CSV lines with a header row.

    Columns: ``email, name, title, grade, cost_rate, bill_rate, currency,
    weekly_capacity_hours, competencies``. ``competencies`` lists
    ``name:level:since`` entries separated by ``;``, for example
    ``analytics:4:2023-01-09;sql:3:2022-06-01``. Empty cells take defaults.
    """
    experts = []
    for row in csv.DictReader(lines):
        values: dict[str, Any] = {
            k: v for k, v in row.items() if k and v not in ("", None)
        }
        values["competencies"] = [
            _competency_cell(entry)
            for entry in str(values.pop("competencies", "")).split(";")
            if entry.strip()
        ]
        experts.append(ExpertSpec.model_validate(values))
    return experts


def _competency_cell(entry: str) -> dict[str, str]:
    parts = [part.strip() for part in entry.split(":")]
    if len(parts) != 3:
        msg = f"The competency {entry!r} is not written as name:level:since."
        raise ValueError(msg)
    return {"competency": parts[0], "level": parts[1], "since": parts[2]}


def import_catalog(store: Store, catalog: CatalogFile) -> ImportSummary:
    """Write ``catalog`` into the store in one transaction, by natural keys."""
    with store.session() as session:
        _ensure_default_pipeline(session)
        for service in catalog.services:
            _import_service(session, service)
        for expert in catalog.experts:
            _import_expert(session, expert)
    templates = sum(len(service.templates) for service in catalog.services)
    summary = ImportSummary(len(catalog.services), templates, len(catalog.experts))
    logger.info("Imported the catalog: %s.", summary)
    return summary


def _ensure_default_pipeline(session: Session) -> None:
    if session.exec(select(Pipeline).where(col(Pipeline.is_default))).first():
        return
    pipeline, stages = default_pipeline()
    session.add(pipeline)
    session.flush()
    session.add_all(stages)


def _upsert(
    session: Session, model: type[M], key: dict[str, Any], values: dict[str, Any]
) -> M:
    query = select(model)
    for name, value in key.items():
        query = query.where(getattr(model, name) == value)
    row = session.exec(query).first()
    if row is None:
        row = model.model_validate({**key, **values})
        session.add(row)
    else:
        checked = model.model_validate({**row.model_dump(), **values})
        for name in values:
            setattr(row, name, getattr(checked, name))
    session.flush()
    return row


def _prune(
    session: Session, model: type[M], parent: tuple[str, str], kept: Sequence[M]
) -> None:
    name, parent_id = parent
    kept_ids = {getattr(row, "id") for row in kept}  # noqa: B009 - any table model
    for row in session.exec(select(model).where(getattr(model, name) == parent_id)):
        if getattr(row, "id") not in kept_ids:  # noqa: B009
            session.delete(row)
    session.flush()


def _import_service(session: Session, spec: ServiceSpec) -> None:
    fields = spec.model_dump(exclude={"code", "typical_budget", "roles", "templates"})
    fields["typical_budget_min"] = spec.typical_budget.min
    fields["typical_budget_max"] = spec.typical_budget.max
    service = _upsert(session, Service, {"code": spec.code}, fields)
    roles = []
    for role in spec.roles:
        key = {"service_id": service.id, "role": role.role}
        values = role.model_dump(exclude={"role"})
        roles.append(_upsert(session, ServiceRole, key, values))
    _prune(session, ServiceRole, ("service_id", service.id), roles)
    for template in spec.templates:
        _import_template(session, service.id, template)


def _import_template(session: Session, service_id: str, spec: TemplateSpec) -> None:
    values: dict[str, Any] = {"service_id": service_id, "name": spec.name}
    template = _upsert(session, ProjectTemplate, {"code": spec.code}, values)
    milestones = []
    for position, milestone in enumerate(spec.milestones):
        key = {"template_id": template.id, "name": milestone.name}
        values = {**milestone.model_dump(exclude={"name"}), "position": position}
        milestones.append(_upsert(session, TemplateMilestone, key, values))
    _prune(session, TemplateMilestone, ("template_id", template.id), milestones)
    tasks = []
    for position, task in enumerate(spec.tasks):
        key = {"template_id": template.id, "name": task.name}
        values = {**task.model_dump(exclude={"name"}), "position": position}
        tasks.append(_upsert(session, TemplateTask, key, values))
    _prune(session, TemplateTask, ("template_id", template.id), tasks)


def _import_expert(session: Session, spec: ExpertSpec) -> None:
    lists = {"email", "competencies", "certificates", "identities"}
    expert = _upsert(
        session, Expert, {"email": spec.email}, spec.model_dump(exclude=lists)
    )
    parent = ("expert_id", expert.id)
    competencies = []
    for competency in spec.competencies:
        key = {"expert_id": expert.id, **competency.model_dump(exclude={"level"})}
        values: dict[str, Any] = {"level": competency.level}
        competencies.append(_upsert(session, Competency, key, values))
    _prune(session, Competency, parent, competencies)
    certificates = []
    for certificate in spec.certificates:
        key = {"expert_id": expert.id, "name": certificate.name}
        values = certificate.model_dump(exclude={"name"})
        certificates.append(_upsert(session, Certificate, key, values))
    _prune(session, Certificate, parent, certificates)
    identities = []
    for identity in spec.identities:
        key = {"connection": identity.connection, "external_id": identity.external_id}
        values = {**identity.model_dump(exclude=set(key)), "expert_id": expert.id}
        identities.append(_upsert(session, ExpertIdentity, key, values))
    _prune(session, ExpertIdentity, parent, identities)


def export_catalog(store: Store) -> CatalogFile:
    """Read the catalog back out of the store, ordered by natural key."""
    with store.session() as session:
        services = [
            _service_spec(session, s)
            for s in session.exec(select(Service).order_by(col(Service.code)))
        ]
        experts = [
            _expert_spec(session, e)
            for e in session.exec(select(Expert).order_by(col(Expert.email)))
        ]
    return CatalogFile(services=services, experts=experts)


def _children(
    session: Session, model: type[M], parent: str, parent_id: str, *order: str
) -> list[M]:
    query = select(model).where(getattr(model, parent) == parent_id)
    query = query.order_by(*(getattr(model, name) for name in order))
    return list(session.exec(query))


def _service_spec(session: Session, service: Service) -> ServiceSpec:
    data = service.model_dump(
        exclude={"id", "typical_budget_min", "typical_budget_max", "active"}
    )
    data["typical_budget"] = BudgetSpec(
        min=service.typical_budget_min, max=service.typical_budget_max
    )
    data["roles"] = [
        RoleSpec.model_validate(r.model_dump(exclude={"id", "service_id"}))
        for r in _children(session, ServiceRole, "service_id", service.id, "role")
    ]
    data["templates"] = [
        _template_spec(session, t)
        for t in _children(session, ProjectTemplate, "service_id", service.id, "code")
    ]
    return ServiceSpec.model_validate(data)


def _template_spec(session: Session, template: ProjectTemplate) -> TemplateSpec:
    hidden = {"id", "template_id", "position"}
    milestones = _children(
        session, TemplateMilestone, "template_id", template.id, "position"
    )
    tasks = _children(session, TemplateTask, "template_id", template.id, "position")
    return TemplateSpec(
        code=template.code,
        name=template.name,
        milestones=[
            MilestoneSpec.model_validate(m.model_dump(exclude=hidden))
            for m in milestones
        ],
        tasks=[TaskSpec.model_validate(t.model_dump(exclude=hidden)) for t in tasks],
    )


def _expert_spec(session: Session, expert: Expert) -> ExpertSpec:
    hidden = {"id", "expert_id"}
    data = expert.model_dump(exclude={"id", "active"})
    data["competencies"] = [
        CompetencySpec.model_validate(c.model_dump(exclude=hidden))
        for c in _children(
            session, Competency, "expert_id", expert.id, "competency", "since"
        )
    ]
    data["certificates"] = [
        CertificateSpec.model_validate(c.model_dump(exclude=hidden))
        for c in _children(session, Certificate, "expert_id", expert.id, "name")
    ]
    data["identities"] = [
        IdentitySpec.model_validate(i.model_dump(exclude=hidden))
        for i in _children(
            session, ExpertIdentity, "expert_id", expert.id, "connection", "external_id"
        )
    ]
    return ExpertSpec.model_validate(data)


def dump_catalog(catalog: CatalogFile) -> str:
    """Render a catalog as YAML; amounts are quoted so they stay exact."""
    data = catalog.model_dump(mode="json", exclude_none=True)
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return text
