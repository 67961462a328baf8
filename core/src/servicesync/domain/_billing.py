"""Billing: invoices with lines, payments, and client feedback."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlmodel import CheckConstraint, Field, SQLModel, UniqueConstraint

from servicesync.domain._base import (
    Currency,
    currency_field,
    decimal_field,
    id_field,
    time_field,
)
from servicesync.domain._columns import EnumText

__all__ = ["Feedback", "Invoice", "InvoiceLine", "InvoiceStatus", "Payment"]


class InvoiceStatus(StrEnum):
    """Where an invoice stands."""

    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    CANCELLED = "cancelled"


class Invoice(SQLModel, table=True):
    """An invoice to a client; ``tax_rate`` is a fraction such as ``0.20``."""

    __tablename__ = "invoices"

    id: str = id_field()
    number: str = Field(max_length=64, unique=True)
    client_id: str | None = Field(default=None, foreign_key="clients.id", index=True)
    project_id: str | None = Field(default=None, foreign_key="projects.id")
    issued_on: date | None = None
    due_on: date | None = None
    status: InvoiceStatus = Field(
        default=InvoiceStatus.DRAFT, sa_type=EnumText(InvoiceStatus)
    )
    currency: Currency = currency_field("EUR")
    tax_rate: Decimal = decimal_field()


class InvoiceLine(SQLModel, table=True):
    """A line of an invoice; ``amount`` is quantity times unit price."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: str = id_field()
    invoice_id: str = Field(foreign_key="invoices.id", index=True)
    position: int = 0
    description: str = ""
    quantity: Decimal = decimal_field()
    unit_price: Decimal = decimal_field()
    amount: Decimal = decimal_field()
    milestone_id: str | None = Field(default=None, foreign_key="milestones.id")


class Payment(SQLModel, table=True):
    """Money received against an invoice."""

    __tablename__ = "payments"

    id: str = id_field()
    invoice_id: str = Field(foreign_key="invoices.id", index=True)
    amount: Decimal = decimal_field()
    currency: Currency = currency_field("EUR")
    paid_at: datetime = time_field()
    reference: str | None = Field(default=None, max_length=200)


class Feedback(SQLModel, table=True):
    """A client's answer to the survey after a project: NPS 0 to 10."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("score >= 0 AND score <= 10", name="score"),)

    id: str = id_field()
    project_id: str | None = Field(default=None, foreign_key="projects.id")
    client_id: str | None = Field(default=None, foreign_key="clients.id")
    contact_id: str | None = Field(default=None, foreign_key="contacts.id")
    score: int = Field(ge=0, le=10)
    comment: str = ""
    received_at: datetime = time_field()
