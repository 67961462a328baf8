"""The deal's commercial fields as one line of a project's description.

Most delivery tools keep no budget, client or scope on a project (Jira's
projects, Asana's without paid custom fields, Trello's boards). servicesync
keeps them in a line of the project's description, notes or board
description that a person can read, and change, in the tool::

    [servicesync budget] amount: 48000.00; currency: EUR; scope: 120.00; client: ACME

Every other line of the text is left as it is. A person who edits the line
changes what two-way consistency reads of the project; the flow's field
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


def read_budget(text: str) -> dict[str, str]:
    """Return the fields of the text's budget line; empty without one.

    Example:
        >>> read_budget("Intro\\n[servicesync budget] amount: 10.00; currency: EUR")
        {'amount': '10.00', 'currency': 'EUR'}
    """
    line = _budget_line(text)
    if line is None:
        return {}
    found: dict[str, str] = {}
    for part in line[len(BUDGET_PREFIX) :].split(_SEPARATOR):
        name, colon, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if colon and name in BUDGET_FIELDS and value:
            found[name] = value
    return found


def with_budget(text: str, values: Mapping[str, str]) -> str:
    """Return the text with its budget line set to ``values``.

    The line replaces the one there was, in place, or is added at the end.
    """
    parts = [f"{name}: {values[name]}" for name in BUDGET_FIELDS if values.get(name)]
    line = BUDGET_PREFIX + _SEPARATOR.join(" ".join(p.split()) for p in parts)
    lines = text.splitlines()
    for index, existing in enumerate(lines):
        if existing.startswith(BUDGET_PREFIX):
            lines[index] = line
            return "\n".join(lines)
    return "\n".join([*lines, line]) if lines else line


def _budget_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(BUDGET_PREFIX):
            return line
    return None
