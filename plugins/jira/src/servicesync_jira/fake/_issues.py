"""Issues, their search index (which lags behind writes) and the JQL search."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from servicesync_jira._timefmt import format_jira_time
from servicesync_jira.fake._errors import FakeJiraError, error_body
from servicesync_jira.fake._jql import parse_jql
from servicesync_jira.fake._state import SiteState

__all__ = ["IssueStore"]

_MISSING = "Issue does not exist or you do not have permission to see it."
#: The fields an issue edit may set in the fake; the others it does not model.
_EDITABLE = frozenset({"summary", "description", "duedate", "labels"})
_STATUSES = {
    "To Do": {"id": "10000", "key": "new", "name": "To Do"},
    "In Progress": {"id": "3", "key": "indeterminate", "name": "In Progress"},
    "Done": {"id": "10001", "key": "done", "name": "Done"},
}


@dataclass
class IssueStore:
    """The site's issues.

    Reads by id or key see every write at once; the search index sees an
    issue's state only ``index_lag`` seconds (on the site's clock) after it
    was written, as Jira Cloud's search does.
    """

    site: SiteState
    index_lag: float = 0.0
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    _index: dict[str, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    _counters: dict[str, int] = field(default_factory=dict)
    #: Positions the next bulk call fails (not applied), with their status.
    element_faults: dict[int, int] = field(default_factory=dict)

    # Writes -----------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create one issue from an ``IssueUpdateDetails`` body."""
        fields = dict(body.get("fields") or {})
        project = self._project_of(fields)
        checked = self._checked_fields(project, fields)
        number = self._counters.get(project["key"], 0) + 1
        self._counters[project["key"]] = number
        now = self.site.clock.now()
        issue_id = self.site.next_id()
        issue = {
            "id": issue_id,
            "key": f"{project['key']}-{number}",
            "project_key": project["key"],
            "project_id": project["id"],
            "created": now,
            "updated": now,
            "fields": checked,
        }
        self.issues[issue_id] = issue
        self._reindex(issue)
        return {
            "id": issue_id,
            "key": issue["key"],
            "self": f"{self.site.base_url}/rest/api/3/issue/{issue_id}",
        }

    def create_many(self, items: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """Create issues one by one; failures are reported per element."""
        created: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        faults, self.element_faults = self.element_faults, {}
        for index, item in enumerate(items):
            if index in faults:
                body = error_body(["The issue could not be created; try again later."])
                errors.append(
                    {
                        "status": faults[index],
                        "failedElementNumber": index,
                        "elementErrors": body,
                    }
                )
                continue
            try:
                created.append(self.create(item))
            except FakeJiraError as exc:
                errors.append(
                    {
                        "status": exc.status,
                        "failedElementNumber": index,
                        "elementErrors": exc.body,
                    }
                )
        status = 201 if created else 400
        return status, {"issues": created, "errors": errors}

    def edit(self, id_or_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change an issue from the ``fields`` of an ``IssueUpdateDetails`` body.

        The fake edits the fields in ``_EDITABLE`` and refuses the others,
        like the ``update`` operations, which it does not model.

        Raises:
            FakeJiraError: 404 for an unknown issue, 400 for a body it refuses.
        """
        issue = self.get(id_or_key)
        fields = body.get("fields")
        if body.get("update"):
            raise FakeJiraError(400, ["The fake edits fields only, not operations."])
        if not isinstance(fields, dict) or not fields:
            raise FakeJiraError(400, ["The request sets no field of the issue."])
        errors = _edit_errors(fields)
        if errors:
            raise FakeJiraError(400, errors=errors)
        issue["fields"].update(fields)
        self.touch(issue)
        return issue

    def transition(self, id_or_key: str, status: str) -> dict[str, Any]:
        """Move an issue to ``status`` (``To Do``, ``In Progress`` or ``Done``)."""
        issue = self.get(id_or_key)
        issue["fields"]["status"] = self._status(status)
        self.touch(issue)
        return issue

    def touch(self, issue: dict[str, Any]) -> None:
        """Mark an issue changed now and queue it for the index."""
        issue["updated"] = self.site.clock.now()
        self._reindex(issue)

    def _reindex(self, issue: dict[str, Any]) -> None:
        visible_at = self.site.clock.monotonic() + self.index_lag
        entry = (visible_at, copy.deepcopy(issue))
        self._index.setdefault(issue["id"], []).append(entry)

    def _project_of(self, fields: dict[str, Any]) -> dict[str, Any]:
        ref = fields.get("project") or {}
        try:
            return self.site.project(str(ref.get("key") or ref.get("id") or ""))
        except FakeJiraError:
            raise FakeJiraError(
                400, errors={"project": "valid project is required"}
            ) from None

    def _checked_fields(
        self, project: dict[str, Any], fields: dict[str, Any]
    ) -> dict[str, Any]:
        errors: dict[str, str] = {}
        types = self.site.project_json(project)["issueTypes"]
        kind = fields.get("issuetype") or {}
        issuetype = next(
            (
                t
                for t in types
                if kind and kind.get("id", kind.get("name")) in (t["id"], t["name"])
            ),
            None,
        )
        if issuetype is None:
            errors["issuetype"] = "Specify an issue type"
        if not str(fields.get("summary", "")).strip():
            errors["summary"] = "You must specify a summary of the issue."
        labels = fields.get("labels", [])
        if any(" " in str(label) for label in labels):
            errors["labels"] = "The label must not contain spaces."
        assignee = (fields.get("assignee") or {}).get("accountId")
        if assignee and assignee not in self.site.users:
            errors["assignee"] = f"User '{assignee}' cannot be assigned issues."
        versions = self._versions(project, fields.get("fixVersions", []), errors)
        parent = self._parent(fields.get("parent"), errors)
        if errors:
            raise FakeJiraError(400, errors=errors)
        return {
            "summary": fields["summary"],
            "description": fields.get("description"),
            "issuetype": issuetype,
            "labels": list(labels),
            "assignee": assignee,
            "fixVersions": versions,
            "duedate": fields.get("duedate"),
            "parent": parent,
            "status": self._status("To Do"),
        }

    def _versions(
        self,
        project: dict[str, Any],
        refs: list[dict[str, Any]],
        errors: dict[str, str],
    ) -> list[dict[str, Any]]:
        known = {v["id"]: v for v in self.site.project_versions(project["key"])}
        found = []
        for ref in refs:
            version = known.get(str(ref.get("id")))
            if version is None:
                errors["fixVersions"] = f"Version id '{ref.get('id')}' is not valid"
            else:
                found.append({"id": version["id"], "name": version["name"]})
        return found

    def _parent(
        self, ref: dict[str, Any] | None, errors: dict[str, str]
    ) -> dict[str, Any] | None:
        if not ref:
            return None
        try:
            parent = self.get(str(ref.get("key") or ref.get("id")))
        except FakeJiraError:
            errors["parent"] = "Could not find the parent issue."
            return None
        return {"id": parent["id"], "key": parent["key"]}

    @staticmethod
    def _status(name: str) -> dict[str, Any]:
        status = _STATUSES[name]
        return {
            "id": status["id"],
            "name": name,
            "statusCategory": {"key": status["key"], "name": name},
        }

    # Reads ------------------------------------------------------------

    def get(self, id_or_key: str) -> dict[str, Any]:
        """Return the stored issue by id or key, current state.

        Raises:
            FakeJiraError: 404 when there is none.
        """
        for issue in self.issues.values():
            if id_or_key in (issue["id"], issue["key"]):
                return issue
        raise FakeJiraError(
            404, ["Issue does not exist or you do not have permission to see it."]
        )

    def bulk_fetch(self, refs: list[str], fields: list[str] | None) -> dict[str, Any]:
        """Return issues by id or key, current state, with an error per missing one."""
        if len(refs) > 100:
            raise FakeJiraError(400, ["You can request at most 100 issues."])
        found, errors = [], []
        for ref in refs:
            try:
                found.append(self.render(self.get(ref), fields or ["*navigable"]))
            except FakeJiraError:
                errors.append(
                    {
                        "id": ref,
                        "errorMessage": _MISSING,
                    }
                )
        return {"issues": found, "issueErrors": errors}

    def search(
        self,
        jql: str,
        token: str | None,
        max_results: int,
        fields: list[str] | None,
        reconcile: list[int],
    ) -> dict[str, Any]:
        """Run a JQL search over the index, paged with ``nextPageToken``."""
        query = parse_jql(jql)
        offset = self._offset(token, jql)
        snapshots = self._visible(set(str(r) for r in reconcile))
        ordered = query.sort([s for s in snapshots if query.matches(s)])
        size = max(1, min(max_results, 5000 if _ids_only(fields) else 100))
        page = ordered[offset : offset + size]
        body: dict[str, Any] = {
            "issues": [self.render(i, fields or ["id"]) for i in page],
            "isLast": offset + size >= len(ordered),
        }
        if not body["isLast"]:
            body["nextPageToken"] = _token(offset + size, jql)
        return body

    def _visible(self, reconcile: set[str]) -> list[dict[str, Any]]:
        now = self.site.clock.monotonic()
        visible = []
        for issue_id, entries in self._index.items():
            if issue_id in reconcile and issue_id in self.issues:
                visible.append(self.issues[issue_id])
                continue
            seen = [snap for at, snap in entries if at <= now]
            if seen:
                visible.append(seen[-1])
        return visible

    @staticmethod
    def _offset(token: str | None, jql: str) -> int:
        if not token:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            if data["q"] != jql:
                raise ValueError(jql)
            return int(data["o"])
        except (ValueError, KeyError, TypeError):
            raise FakeJiraError(
                400, ["The provided next page token is invalid or expired."]
            ) from None

    def render(self, issue: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
        """Return an issue as ``IssueBean``, keeping only the fields asked for."""
        fields = self._fields_json(issue)
        if "*all" not in wanted and "*navigable" not in wanted:
            fields = {k: v for k, v in fields.items() if k in wanted}
        return {
            "expand": "",
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{self.site.base_url}/rest/api/3/issue/{issue['id']}",
            "fields": fields,
        }

    def _fields_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        stored = issue["fields"]
        project = self.site.project(issue["project_key"])
        assignee = stored.get("assignee")
        return {
            **{k: v for k, v in stored.items() if k != "assignee"},
            "assignee": self.site.user_json(self.site.users[assignee])
            if assignee
            else None,
            "project": {
                "id": project["id"],
                "key": project["key"],
                "name": project["name"],
            },
            "created": format_jira_time(issue["created"]),
            "updated": format_jira_time(issue["updated"]),
        }


def _edit_errors(fields: dict[str, Any]) -> dict[str, str]:
    """Return what is wrong with the fields an edit sets, by field."""
    errors = {
        name: f"The field {name!r} cannot be edited in the fake."
        for name in sorted(set(fields) - _EDITABLE)
    }
    if "summary" in fields and not str(fields["summary"] or "").strip():
        errors["summary"] = "You must specify a summary of the issue."
    if "duedate" in fields and not _is_day(fields["duedate"]):
        errors["duedate"] = "The due date must be a day written as YYYY-MM-DD."
    description = fields.get("description")
    if description is not None and (
        not isinstance(description, dict) or description.get("type") != "doc"
    ):
        errors["description"] = "The description must be an Atlassian document."
    labels = fields.get("labels", [])
    if not isinstance(labels, list) or any(" " in str(label) for label in labels):
        errors["labels"] = "The labels must be a list of words without spaces."
    return errors


def _is_day(value: Any) -> bool:
    """Whether ``value`` clears a due date (``None``) or is a day."""
    if value is None:
        return True
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return len(str(value)) == len("2026-01-31")


def _ids_only(fields: list[str] | None) -> bool:
    return not fields or set(fields) <= {"id", "key"}


def _token(offset: int, jql: str) -> str:
    raw = json.dumps({"o": offset, "q": jql}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def gone_body() -> dict[str, Any]:
    """Return the answer of the removed ``/rest/api/3/search``."""
    return error_body(
        [
            "The requested API has been removed. Please migrate to the "
            "/rest/api/3/search/jql API."
        ]
    )
