"""The services domain: what servicesync keeps consistent across tools.

Every model is a SQLModel table. Build rows with ``Model.model_validate({...})``
when the values come from outside: table models skip validation when built
with keyword arguments, ``model_validate`` checks them (an NPS score of 11,
a currency of ``"euro"`` or a negative amount are refused).

Money is a ``Decimal`` beside an ISO 4217 ``currency``; times are aware and
stored in UTC; ids are :func:`new_id` strings; external ids are strings.
"""

from __future__ import annotations

from servicesync.domain._base import new_id, utcnow
from servicesync.domain._billing import (
    Feedback,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
)
from servicesync.domain._clients import Client, Contact
from servicesync.domain._columns import EnumText, ExactDecimal, JSONDoc, UTCDateTime
from servicesync.domain._delivery import (
    Milestone,
    Project,
    ProjectMember,
    ProjectStatus,
    Task,
    TimeEntry,
)
from servicesync.domain._experts import (
    Allocation,
    Certificate,
    Competency,
    Expert,
    ExpertIdentity,
    IdentityResolution,
)
from servicesync.domain._sales import (
    Deal,
    Pipeline,
    Stage,
    StageChange,
    StageSemantics,
    default_pipeline,
)
from servicesync.domain._services import (
    PricingModel,
    ProjectTemplate,
    Service,
    ServiceRole,
    TemplateMilestone,
    TemplateTask,
)

__all__ = [
    "Allocation",
    "Certificate",
    "Client",
    "Competency",
    "Contact",
    "Deal",
    "EnumText",
    "ExactDecimal",
    "Expert",
    "ExpertIdentity",
    "Feedback",
    "IdentityResolution",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "JSONDoc",
    "Milestone",
    "Payment",
    "Pipeline",
    "PricingModel",
    "Project",
    "ProjectMember",
    "ProjectStatus",
    "ProjectTemplate",
    "Service",
    "ServiceRole",
    "Stage",
    "StageChange",
    "StageSemantics",
    "Task",
    "TemplateMilestone",
    "TemplateTask",
    "TimeEntry",
    "UTCDateTime",
    "default_pipeline",
    "new_id",
    "utcnow",
]
