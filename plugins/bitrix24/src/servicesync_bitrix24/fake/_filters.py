"""Filter, order and select, the way Bitrix24 list methods apply them.

A filter key carries an operator prefix (``>=DATE_MODIFY``, ``@ID``,
``%TITLE``); a bare key means equality. Values compare as numbers when both
sides read as numbers, as moments when the stored value is a date, and as
text otherwise, so ``"10" > "9"`` holds as it does on a portal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["apply_order", "apply_select", "matches", "split_key"]

# Longest prefixes first, so ``>=`` is not read as ``>`` plus ``=FIELD``.
_OPERATORS = ("!=%", "!%=", "!%", ">=", "<=", "!@", "!=", "=%", "%=", ">", "<", "@")
_SINGLE = ("%", "!", "=")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def split_key(key: str) -> tuple[str, str]:
    """Split a filter key into its operator and field name."""
    for op in _OPERATORS:
        if key.startswith(op):
            return op, key[len(op) :]
    if key[:1] in _SINGLE:
        return key[:1], key[1:]
    return "=", key


def lookup(row: Mapping[str, Any], field: str) -> Any:
    """Return ``row[field]``, matching the name without regard to case."""
    if field in row:
        return row[field]
    wanted = _norm(field)
    for key, value in row.items():
        if _norm(key) == wanted:
            return value
    return None


def _norm(name: str) -> str:
    # tasks.task.list filters on ``CHANGED_DATE`` and prints ``changedDate``.
    return name.lower().replace("_", "")


def matches(row: Mapping[str, Any], filters: Mapping[str, Any], tz: timezone) -> bool:
    """Tell whether ``row`` passes every condition of ``filters``."""
    for key, wanted in filters.items():
        op, field = split_key(str(key))
        if not _test(op, lookup(row, field), wanted, tz):
            return False
    return True


def _test(op: str, have: Any, wanted: Any, tz: timezone) -> bool:
    if op in ("@", "!@"):
        values = wanted if isinstance(wanted, list | tuple) else [wanted]
        found = any(_compare(have, value, tz) == 0 for value in values)
        return found if op == "@" else not found
    if op in ("%", "!%", "=%", "%=", "!=%", "!%="):
        found = _like(have, str(wanted), explicit=op not in ("%", "!%"))
        return not found if op.startswith("!") else found
    if isinstance(wanted, list | tuple):
        found = any(_compare(have, value, tz) == 0 for value in wanted)
        return found if op == "=" else not found
    order = _compare(have, wanted, tz)
    if order is None:
        return op in ("!", "!=")
    return {
        "=": order == 0,
        "!": order != 0,
        "!=": order != 0,
        ">": order > 0,
        ">=": order >= 0,
        "<": order < 0,
        "<=": order <= 0,
    }[op]


def _like(have: Any, pattern: str, *, explicit: bool) -> bool:
    if have is None:
        return False
    text = str(have).lower()
    pattern = pattern.lower()
    if not explicit:
        return pattern in text
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def _compare(have: Any, wanted: Any, tz: timezone) -> int | None:
    """Order ``have`` against ``wanted`` as -1, 0 or 1; None for a null ``have``."""
    if have is None:
        return 0 if wanted in (None, "") else None
    if isinstance(have, bool) or isinstance(wanted, bool):
        have, wanted = _yn(have), _yn(wanted)
    left, right = sort_value(have, tz), sort_value(wanted, tz)
    if type(left) is not type(right):
        left, right = str(have), str(wanted)
    return int(left > right) - int(left < right)


def _yn(value: Any) -> Any:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return value


def sort_value(value: Any, tz: timezone) -> Any:
    """Turn a stored value into something ordered the way the portal orders it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        pass
    if _DATE.match(text):
        return parse_moment(text, tz)
    return text


def parse_moment(text: str, tz: timezone) -> datetime:
    """Read a date or date-time; one without an offset is in the portal's zone."""
    cleaned = text.strip().replace(" ", "T", 1)
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def apply_order(
    rows: list[dict[str, Any]], order: Mapping[str, Any], tz: timezone
) -> list[dict[str, Any]]:
    """Sort ``rows`` by each field of ``order`` (``ASC``/``DESC``), first key first."""
    result = list(rows)
    for field, direction in reversed(list(order.items())):
        descending = str(direction).upper() == "DESC"
        result.sort(
            key=lambda row: _order_key(lookup(row, field), tz), reverse=descending
        )
    return result


def _order_key(value: Any, tz: timezone) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0.0)
    key = sort_value(value, tz)
    if isinstance(key, float):
        return (1, key)
    if isinstance(key, datetime):
        return (2, key.timestamp())
    return (3, key)


def apply_select(
    row: Mapping[str, Any],
    select: Sequence[str] | None,
    *,
    id_key: str,
    standard: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Keep the fields ``select`` names; ``*`` means every standard field.

    ``UF_*`` adds the custom fields. With no select at all the standard
    fields are returned, as the portal does. The id is always kept.
    """
    names = list(select or ["*"])
    wanted_names = {_norm(str(name)) for name in names}
    std = set(standard) if standard is not None else None
    out: dict[str, Any] = {}
    for key, value in row.items():
        custom = key.upper().startswith("UF_")
        wanted = (
            key == id_key
            or _norm(key) in wanted_names
            or ("*" in names and not custom and (std is None or key in std))
            or ("UF_*" in names and custom)
        )
        if wanted:
            out[key] = value
    return out


def moment_text(moment: datetime, tz: timezone) -> str:
    """Write a moment the way the portal does: ``2024-05-21T10:00:00+03:00``."""
    local = moment.astimezone(tz).replace(microsecond=0)
    return local.isoformat()


def zone(offset_hours: float) -> timezone:
    """Return a fixed-offset zone of ``offset_hours``."""
    return timezone(timedelta(hours=offset_hours))
