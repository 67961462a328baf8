"""The default mapping of Bitrix24 deals and stages to domain fields.

Pure functions: a raw deal in, a plain dict out, so the engine (or a user's
own mapping) decides what to do with it.

Output of :func:`map_deal`::

    external_id     "410"
    title           "New Deal #1"
    stage_id        "C1:NEW"
    stage_semantics "process" | "success" | "failure"
    category_id     "1"
    amount          "1000000.00"   (a Decimal written as a string)
    currency        "EUR"
    company_id      "9" or None
    contact_id      "84" or None
    owner_id        "1" or None
    created_at      "2024-08-30T14:29:00+02:00" (aware ISO) or None
    modified_at     ...
    begins_on, closes_on
    custom          {"UF_CRM_...": value, ...}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from servicesync.errors import MappingError

__all__ = ["DEFAULT_FUNNEL", "deal_fields", "funnel_stage", "map_deal", "semantics_of"]

DEFAULT_FUNNEL = (
    "acquaintance", "diagnostics", "proposal", "statement_of_work",
    "negotiation", "contract_signed", "won", "lost",
)  # fmt: skip

_LETTERS = {"P": "process", "S": "success", "F": "failure"}
#: The funnel code a closed deal takes by its stage's semantics.
_CLOSED_STAGES = {"success": "won", "failure": "lost"}
_CENTS: Final = Decimal("0.01")
#: An aware instant to the second, as ``datetime.isoformat`` writes it.
_ISO_SECONDS: Final = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", re.ASCII
)

#: Where the custom fields sit, for each set of keys a row came with.
_CUSTOM_KEYS: dict[tuple[Any, ...], tuple[Any, ...]] = {}
#: Key sets remembered at most; a portal's rows come with a handful.
_CUSTOM_KEYS_LIMIT = 256


def _id(value: Any) -> str | None:
    text = "" if value is None else str(value)
    return None if text in ("", "0") else text


def _parsed_moment(value: Any, field: str) -> datetime | None:
    """Read an aware date; ``None`` for an empty value."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise MappingError(
            f"The deal field {field!r} holds {value!r}, not a date."
        ) from exc
    if moment.tzinfo is None:
        raise MappingError(
            f"The deal field {field!r} holds {value!r} without an offset."
        )
    return moment


def _moment(value: Any, field: str) -> str | None:
    moment = _parsed_moment(value, field)
    return None if moment is None else _iso(moment, value)


def _iso(moment: datetime, value: Any) -> str:
    """Write ``moment``, read from ``value``, as ``datetime.isoformat`` does."""
    text = str(value)
    # A portal writes its dates the way isoformat does; writing one again
    # costs three times its parse, so a date already in that form is kept.
    if _ISO_SECONDS.fullmatch(text) and not text.endswith("-00:00"):
        return text
    return moment.isoformat()


def _amount(value: Any) -> str:
    try:
        return str(Decimal(str(value or "0")).quantize(_CENTS))
    except InvalidOperation as exc:
        raise MappingError(f"The deal amount {value!r} is not a number.") from exc


def _custom(deal: Mapping[str, Any]) -> dict[str, Any]:
    """Return the deal's custom fields (``UF_CRM_...``), in the row's order."""
    # Every row of a portal comes with the same keys, so which of them are
    # custom is worked out once per key set rather than per row: testing
    # each of some 45 keys costs more than the rest of the mapping.
    keys = tuple(deal)
    custom = _CUSTOM_KEYS.get(keys)
    if custom is None:
        if len(_CUSTOM_KEYS) >= _CUSTOM_KEYS_LIMIT:
            _CUSTOM_KEYS.clear()
        custom = tuple(k for k in keys if str(k).startswith("UF_CRM"))
        _CUSTOM_KEYS[keys] = custom
    return {k: deal[k] for k in custom}


def semantics_of(letter_or_word: str | None) -> str:
    """Read ``P``/``S``/``F`` or a semantics word as process, success or failure."""
    value = (letter_or_word or "P").strip()
    if value in _LETTERS:
        return _LETTERS[value]
    if value == "apology":
        return "failure"
    if value in ("process", "success", "failure"):
        return value
    raise MappingError(f"The stage semantics {value!r} is unknown.")


def map_deal(deal: Mapping[str, Any]) -> dict[str, Any]:
    """Map a raw ``crm.deal.get``/``list`` row to domain fields."""
    if not deal.get("ID"):
        raise MappingError("The deal has no ID.")
    return {
        "external_id": str(deal["ID"]),
        "title": str(deal.get("TITLE") or ""),
        "stage_id": deal.get("STAGE_ID"),
        "stage_semantics": semantics_of(deal.get("STAGE_SEMANTIC_ID")),
        "category_id": str(deal.get("CATEGORY_ID") or "0"),
        "amount": _amount(deal.get("OPPORTUNITY")),
        "currency": deal.get("CURRENCY_ID"),
        "company_id": _id(deal.get("COMPANY_ID")),
        "contact_id": _id(deal.get("CONTACT_ID")),
        "owner_id": _id(deal.get("ASSIGNED_BY_ID")),
        "created_at": _moment(deal.get("DATE_CREATE"), "DATE_CREATE"),
        "modified_at": _moment(deal.get("DATE_MODIFY"), "DATE_MODIFY"),
        "begins_on": _moment(deal.get("BEGINDATE"), "BEGINDATE"),
        "closes_on": _moment(deal.get("CLOSEDATE"), "CLOSEDATE"),
        "custom": _custom(deal),
    }


def funnel_stage(stage: Mapping[str, Any], position: int, process_count: int) -> str:
    """Map a ``crm.status.list`` stage to a default funnel code.

    Success stages map to ``won``, failure and apology stages to ``lost``.
    The ``process`` stages of a pipeline, ``position`` of ``process_count``
    in sort order, spread over the six open funnel codes in order.
    """
    raw_extra = stage.get("EXTRA")
    extra = raw_extra if isinstance(raw_extra, Mapping) else {}
    meaning = semantics_of(extra.get("SEMANTICS") or stage.get("SEMANTICS"))
    if meaning == "success":
        return "won"
    if meaning == "failure":
        return "lost"
    open_codes = DEFAULT_FUNNEL[:6]
    if process_count <= 1:
        return open_codes[0]
    index = round(position * (len(open_codes) - 1) / (process_count - 1))
    return open_codes[min(index, len(open_codes) - 1)]


def deal_fields(deal: Mapping[str, Any]) -> dict[str, Any]:
    """Map a raw deal to the fields the core's engine takes in.

    Won and lost stages map by their semantics; a process stage needs the
    connection's ``mapping.values.stage`` table, which the engine applies to
    ``stage_source`` (the portal's own stage id).

    The values are those of :func:`map_deal`'s output, and a deal
    :func:`map_deal` refuses is refused with the same message.
    """
    # Every deal of every page comes through here, so the checks of
    # map_deal are made in its order without building its whole dict.
    if not deal.get("ID"):
        raise MappingError("The deal has no ID.")
    semantics = semantics_of(deal.get("STAGE_SEMANTIC_ID"))
    amount = _amount(deal.get("OPPORTUNITY"))
    created = _moment(deal.get("DATE_CREATE"), "DATE_CREATE")
    # The modification and start dates are only checked: the engine takes
    # neither, and writing them back as text is most of a date's cost.
    _parsed_moment(deal.get("DATE_MODIFY"), "DATE_MODIFY")
    _parsed_moment(deal.get("BEGINDATE"), "BEGINDATE")
    closes = _parsed_moment(deal.get("CLOSEDATE"), "CLOSEDATE")
    closed = None
    if closes is not None and semantics != "process":
        closed = _iso(closes, deal.get("CLOSEDATE"))
    return {
        "title": str(deal.get("TITLE") or ""),
        "stage": _CLOSED_STAGES.get(semantics),
        "stage_source": deal.get("STAGE_ID"),
        "amount": amount,
        "currency": deal.get("CURRENCY_ID"),
        "client": _id(deal.get("COMPANY_ID")),
        "owner": _id(deal.get("ASSIGNED_BY_ID")),
        "created_at": created,
        "closed_at": closed,
        **_custom(deal),
    }
