"""From a connector's default mapping and a connection's config to domain fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from servicesync.config import Mapping_
from servicesync.domain import Deal
from servicesync.errors import MappingError
from servicesync.store._dialect import table_of

__all__ = ["DealFields", "apply_config_mapping", "validate_deal"]


def _stored_length(column: str) -> int:
    """Return how many characters the store's ``deals.COLUMN`` keeps."""
    length = getattr(table_of(Deal).c[column].type, "length", None)
    if not isinstance(length, int):
        msg = f"deals.{column} has no length"
        raise TypeError(msg)
    return length


class DealFields(BaseModel):
    """The domain fields of a deal as a CRM connector maps them.

    References to other records (``client``, ``stage``) are the source's own
    ids; the engine resolves them through the external links and the funnel.
    """

    model_config = ConfigDict(extra="ignore")

    # Lengths are the store's: a value past one is refused here, with the
    # field named, rather than by PostgreSQL, which would fail the page.
    title: str = Field(max_length=_stored_length("title"))
    stage: str = Field(description="The funnel stage code, after value mapping.")
    amount: Decimal = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    client: str | None = None
    service: str | None = Field(
        default=None, description="A service code of the catalog."
    )
    owner: str | None = Field(default=None, max_length=_stored_length("owner"))
    probability: int | None = Field(default=None, ge=0, le=100)
    estimate_min_hours: Decimal | None = None
    estimate_max_hours: Decimal | None = None
    expected_close: date | None = None
    created_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None


def apply_config_mapping(
    fields: Mapping[str, Any], raw: Mapping[str, Any], mapping: Mapping_
) -> dict[str, Any]:
    """Refine a connector's mapped ``fields`` with the connection's config.

    ``mapping.fields`` copies a raw source field into a domain field (it wins
    over the connector's default); ``mapping.values`` then translates values
    of a domain field, such as a stage id into a funnel stage code.
    """
    result = dict(fields)
    for source, target in mapping.fields.items():
        if source in raw:
            result[target] = raw[source]
    for target, table in mapping.values.items():
        value = result.get(target)
        source_key = f"{target}_source"
        # A connector may keep the source's own value beside its guess, so
        # that the config can map the exact id rather than the guess.
        original = result.get(source_key, value)
        if original is not None and str(original) in table:
            result[target] = table[str(original)]
    return result


def validate_deal(fields: Mapping[str, Any]) -> DealFields:
    """Check mapped deal fields; raise :class:`MappingError` saying what is wrong."""
    if not fields.get("stage"):
        source = fields.get("stage_source")
        msg = (
            f"The deal's stage {source!r} is not mapped to a funnel stage; add it "
            "under [connections.NAME.mapping.values.stage] in the config."
        )
        raise MappingError(msg)
    try:
        return DealFields.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise MappingError(
            f"The deal does not fit the domain model: {problems}."
        ) from None
