"""Shaping resources by ``opt_fields``, the way Asana trims its answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["opt_fields", "select"]


def opt_fields(raw: str | None) -> list[str] | None:
    """Split an ``opt_fields`` value; ``None`` when none was asked for."""
    if not raw:
        return None
    return [name.strip() for name in raw.split(",") if name.strip()]


def select(resource: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Return ``gid`` and the fields ``names`` asks for, nested by dots.

    ``assignee`` alone gives the assignee's gid; ``assignee.name`` adds its
    name; ``memberships.section.name`` reaches into each membership.

    Example:
        >>> task = {"gid": "1", "name": "A", "assignee": {"gid": "7", "name": "Ann"}}
        >>> select(task, ["assignee.name"])
        {'gid': '1', 'assignee': {'gid': '7', 'name': 'Ann'}}
    """
    nested: dict[str, list[str]] = {}
    for name in names:
        head, _, rest = name.partition(".")
        nested.setdefault(head, [])
        if rest:
            nested[head].append(rest)
    chosen: dict[str, Any] = {}
    if "gid" in resource:
        chosen["gid"] = resource["gid"]
    for head, deeper in nested.items():
        if head in resource:
            chosen[head] = _shape(resource[head], deeper)
    return chosen


def _shape(value: Any, rest: list[str]) -> Any:
    if isinstance(value, list):
        return [_shape(item, rest) for item in value]
    if isinstance(value, Mapping):
        if rest:
            return select(value, rest)
        return {"gid": value["gid"]} if "gid" in value else dict(value)
    return value
