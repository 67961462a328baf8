"""What every method handler of the fake portal receives and returns."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from servicesync_bitrix24.fake._filters import (
    apply_order,
    apply_select,
    matches,
    split_key,
)
from servicesync_bitrix24.fake._limits import CostModel
from servicesync_bitrix24.fake._store import PortalData, RestError

if TYPE_CHECKING:
    from servicesync_bitrix24.fake._events import EventHub

__all__ = ["PAGE", "CallResult", "Caller", "Handler", "MethodCall", "arg", "list_page"]

PAGE = 50


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: an incoming webhook or an OAuth application.

    Attributes:
        key: names the caller for the operating-time meter.
        user_id: the portal user the call acts as.
        application_token: the token event deliveries to this caller carry.
    """

    key: str
    user_id: int
    application_token: str


@dataclass
class CallResult:
    """A method's answer before the portal wraps it with ``time``.

    ``total`` of ``None`` leaves the key out; ``next`` only appears when set.
    """

    result: Any
    total: int | None = None
    next: int | None = None
    cost: float = 0.01


@dataclass
class MethodCall:
    """One method call: its parameters and the portal it runs on."""

    params: Mapping[str, Any]
    caller: Caller
    data: PortalData
    costs: CostModel
    events: EventHub
    extra: dict[str, Any] = field(default_factory=dict)

    def arg(self, name: str, default: Any = None) -> Any:
        """Return the parameter ``name``, whatever the case of its key."""
        return arg(self.params, name, default)


Handler = Callable[[MethodCall], CallResult]


def arg(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Return ``params[name]`` matching the key without regard to case."""
    if name in params:
        return params[name]
    wanted = name.lower()
    for key, value in params.items():
        if str(key).lower() == wanted:
            return value
    return default


def _mapping(call: MethodCall, name: str) -> dict[str, Any]:
    value = call.arg(name)
    if value in (None, "", []):
        return {}
    if not isinstance(value, Mapping):
        raise RestError(400, "", f"Parameter '{name}' must be array.")
    return dict(value)


def _start(call: MethodCall) -> int:
    raw = call.arg("start", 0)
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def list_page(
    call: MethodCall,
    rows: Sequence[dict[str, Any]],
    *,
    id_key: str = "ID",
    standard: Sequence[str] | None = None,
    wrap: Callable[[list[dict[str, Any]]], Any] | None = None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> CallResult:
    """Filter, order, page and select ``rows`` as a portal list method does.

    ``start=-1`` skips the COUNT: the answer has ``total`` 0 and no ``next``,
    and costs only the rows it returns.
    """
    filters = _mapping(call, "filter")
    order = _mapping(call, "order") or {id_key: "ASC"}
    start = _start(call)
    select = call.arg("select")
    select_list = list(select) if isinstance(select, list | tuple) else None
    tz = call.data.tz
    quick = _first_by_id(rows, filters, order, tz, id_key) if start < 0 else None
    if quick is not None:
        found = quick
    else:
        found = [row for row in rows if matches(row, filters, tz)]
        found = apply_order(found, order, tz)
    offset = max(start, 0)
    page = found[offset : offset + PAGE]
    out = [
        apply_select(shape(r) if shape else r, select_list, id_key=id_key,
                     standard=standard)
        for r in page
    ]  # fmt: skip
    cost = call.costs.list_call(returned=len(out), matching=len(found), start=start)
    result = wrap(out) if wrap else out
    if start < 0:
        return CallResult(result, total=0, cost=cost)
    more = offset + PAGE < len(found)
    return CallResult(result, len(found), offset + PAGE if more else None, cost)


def _first_by_id(
    rows: Sequence[dict[str, Any]],
    filters: Mapping[str, Any],
    order: Mapping[str, Any],
    tz: timezone,
    id_key: str,
) -> list[dict[str, Any]] | None:
    """Return the first page of a fast listing without testing every row.

    A ``start=-1`` call ordered by id alone answers only the first ``PAGE``
    matches. The portal's tables are kept in id order, so the rows past the
    ``>ID`` bound are walked from there until a page is full: the answer of
    filtering and sorting them all, at a cost that does not grow with the
    table. ``None`` means the call or the table is not of that shape, and
    the full path applies.
    """
    if len(order) != 1:
        return None
    ((field, direction),) = order.items()
    if field.lower() != id_key.lower() or str(direction).upper() != "ASC":
        return None
    try:
        # map and itemgetter keep this pass over the table out of Python code.
        ids = list(map(int, map(itemgetter(id_key), rows)))
        floor = _id_floor(filters, id_key)
    except (KeyError, TypeError, ValueError):
        return None
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        return None
    found: list[dict[str, Any]] = []
    position = bisect_right(ids, floor) if floor is not None else 0
    while position < len(rows) and len(found) < PAGE:
        if matches(rows[position], filters, tz):
            found.append(rows[position])
        position += 1
    return found


def _id_floor(filters: Mapping[str, Any], id_key: str) -> int | None:
    """Return the bound of a ``>ID`` condition, if ``filters`` has one."""
    for key, value in filters.items():
        op, field = split_key(str(key))
        if op == ">" and field.lower() == id_key.lower():
            return int(value)
    return None
