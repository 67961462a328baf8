"""The deal's commercial fields as one line of a project's description.

Jira projects have no budget, client or scope; servicesync keeps them in a
line of the description that a person can read, and change, in Jira::

    [servicesync budget] amount: 48000.00; currency: EUR; scope: 120.00; client: ACME

Every other line of the description is left as it is. A person who edits the
line changes what two-way consistency reads of the project; the flow's field
ownership then decides what happens to the change.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BUDGET_FIELDS", "BUDGET_PREFIX", "read_budget", "with_budget"]

#: How the line begins.
BUDGET_PREFIX = "[servicesync budget] "

#: The synced fields the line holds, in the order it shows them.
BUDGET_FIELDS = ("amount", "currency", "scope", "client")

_SEPARATOR = "; "


def read_budget(description: str) -> dict[str, str]:
    """Return the fields of the description's budget line; empty without one.

    Example:
        >>> read_budget("Intro\\n[servicesync budget] amount: 10.00; currency: EUR")
        {'amount': '10.00', 'currency': 'EUR'}
    """
    line = _budget_line(description)
    if line is None:
        return {}
    found: dict[str, str] = {}
    for part in line[len(BUDGET_PREFIX) :].split(_SEPARATOR):
        name, colon, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if colon and name in BUDGET_FIELDS and value:
            found[name] = value
    return found


def with_budget(description: str, values: Mapping[str, str]) -> str:
    """Return the description with its budget line set to ``values``.

    The line replaces the one there was, in place, or is added at the end.
    """
    parts = [f"{name}: {values[name]}" for name in BUDGET_FIELDS if values.get(name)]
    line = BUDGET_PREFIX + _SEPARATOR.join(" ".join(p.split()) for p in parts)
    lines = description.splitlines()
    for index, existing in enumerate(lines):
        if existing.startswith(BUDGET_PREFIX):
            lines[index] = line
            return "\n".join(lines)
    return "\n".join([*lines, line]) if lines else line


def _budget_line(description: str) -> str | None:
    for line in description.splitlines():
        if line.startswith(BUDGET_PREFIX):
            return line
    return None
