"""The small part of JQL the fake understands.

Clauses joined by ``AND`` on ``project``, ``key``, ``id``, ``labels``,
``issuetype``, ``fixVersion``, ``parent``, ``created`` and ``updated``, with
``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``in`` and ``not in``, and an
``ORDER BY`` on ``id``, ``key``, ``created`` or ``updated``. Date values are
epoch milliseconds or quoted ``yyyy-MM-dd HH:mm`` / ``yyyy/MM/dd HH:mm``.
Anything else is refused with 400, as a real site refuses a bad query.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from servicesync_jira.fake._errors import FakeJiraError

__all__ = ["JqlQuery", "parse_jql"]

_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>not\s+in|in|!=|>=|<=|=|>|<)\s*(?P<value>.+?)\s*$",
    re.IGNORECASE,
)
_ORDER = re.compile(r"\s+order\s+by\s+(\w+)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
_SORTABLE = {"id", "key", "created", "updated"}
_DATE_FIELDS = {"created", "updated"}

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class JqlQuery:
    """A parsed query: a filter over stored issues and a sort order."""

    predicates: tuple[Predicate, ...]
    order_field: str
    descending: bool

    def matches(self, issue: dict[str, Any]) -> bool:
        """Whether ``issue`` satisfies every clause."""
        return all(p(issue) for p in self.predicates)

    def sort(self, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return ``issues`` in the query's order."""

        def sort_key(issue: dict[str, Any]) -> Any:
            return _value(issue, self.order_field)

        return sorted(issues, key=sort_key, reverse=self.descending)


def parse_jql(text: str) -> JqlQuery:
    """Parse ``text``; refuse unbounded or unsupported queries with 400."""
    order_field, descending = "id", False
    match = _ORDER.search(text)
    if match:
        order_field = match.group(1).lower()
        descending = (match.group(2) or "asc").lower() == "desc"
        text = text[: match.start()]
        if order_field not in _SORTABLE:
            raise _bad(f"The fake cannot order by '{order_field}'.")
    if not text.strip():
        raise _bad(
            "Unbounded JQL queries are not allowed here. "
            "Please add a search restriction to your query."
        )
    parts = re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)
    return JqlQuery(tuple(_clause(p) for p in parts), order_field, descending)


def _bad(message: str) -> FakeJiraError:
    return FakeJiraError(400, [message])


def _clause(text: str) -> Predicate:
    match = _CLAUSE.match(text)
    if not match:
        raise _bad(f"Error in the JQL Query: the clause '{text}' is not understood.")
    name, op = match.group("field").lower(), " ".join(match.group("op").lower().split())
    if name not in {
        "project",
        "key",
        "id",
        "labels",
        "issuetype",
        "fixversion",
        "parent",
        "created",
        "updated",
    }:
        raise _bad(
            f"Field '{name}' does not exist or you do not have permission to view it."
        )
    values = _values(match.group("value"), many=op in ("in", "not in"))
    if name in _DATE_FIELDS:
        values = [_moment(v) for v in values]
    return _predicate(name, op, values)


def _values(text: str, *, many: bool) -> list[Any]:
    text = text.strip()
    if many:
        if not (text.startswith("(") and text.endswith(")")):
            raise _bad(f"Expected a list in parentheses, not '{text}'.")
        items = [i.strip() for i in text[1:-1].split(",") if i.strip()]
    else:
        items = [text]
    return [i[1:-1] if i[:1] in "\"'" and i[-1:] == i[:1] else i for i in items]


def _moment(value: str) -> datetime:
    if value.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    for pattern in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _bad(f"Date value '{value}' for field is invalid.")


def _value(issue: dict[str, Any], name: str) -> Any:
    if name == "id":
        return int(issue["id"])
    if name == "key":
        return (issue["project_key"], int(issue["key"].rsplit("-", 1)[1]))
    return issue[name]


def _predicate(name: str, op: str, values: list[Any]) -> Predicate:
    def field_values(issue: dict[str, Any]) -> list[Any]:
        fields = issue["fields"]
        if name == "project":
            return [issue["project_key"], issue["project_id"]]
        if name in ("key", "id"):
            return [issue[name]]
        if name == "labels":
            return list(fields.get("labels", []))
        if name == "issuetype":
            return [fields["issuetype"]["name"], fields["issuetype"]["id"]]
        if name == "fixversion":
            return [
                x for v in fields.get("fixVersions", []) for x in (v["id"], v["name"])
            ]
        if name == "parent":
            parent = fields.get("parent") or {}
            return [parent.get("key"), parent.get("id")]
        return [issue[name]]

    def check(issue: dict[str, Any]) -> bool:
        have = field_values(issue)
        if op in ("=", "in"):
            return any(str(h) == str(v) for h in have for v in values)
        if op in ("!=", "not in"):
            return not any(str(h) == str(v) for h in have for v in values)
        left, right = (_value(issue, name), values[0])
        if name == "id":
            right = int(right)
        return bool(
            {
                ">": left > right,
                ">=": left >= right,
                "<": left < right,
                "<=": left <= right,
            }[op]
        )

    return check
