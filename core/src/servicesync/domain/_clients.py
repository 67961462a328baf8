"""Clients (companies) and their contact people."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from servicesync.domain._base import id_field, time_field

__all__ = ["Client", "Contact"]


class Client(SQLModel, table=True):
    """A company that buys services, or the consultancy itself."""

    __tablename__ = "clients"

    id: str = id_field()
    name: str = Field(max_length=200, index=True)
    legal_name: str | None = Field(default=None, max_length=300)
    segment: str | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    is_own_company: bool = Field(
        default=False, description="True for the consultancy's own legal entity."
    )
    status: str = Field(default="active", max_length=32)
    created_at: datetime = time_field()


class Contact(SQLModel, table=True):
    """A person at a client; ``role`` says what they are on deals."""

    __tablename__ = "contacts"

    id: str = id_field()
    client_id: str | None = Field(default=None, foreign_key="clients.id", index=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=64)
    position: str | None = Field(default=None, max_length=200)
    role: str | None = Field(
        default=None, max_length=64, description="decision_maker, sponsor, user..."
    )
