"""Worklogs and the change feeds over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from servicesync_jira._timefmt import format_jira_time, parse_jira_time, to_epoch_ms
from servicesync_jira.fake._errors import FakeJiraError
from servicesync_jira.fake._issues import IssueStore

__all__ = ["WorklogStore"]

_FEED_PAGE = 1000
# The change feeds leave out the last minute, which may still change.
_FEED_SETTLE_MS = 60_000


@dataclass
class WorklogStore:
    """The site's worklogs, with the per-issue cap Jira enforces."""

    issues: IssueStore
    per_issue_cap: int = 5000
    worklogs: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, datetime] = field(default_factory=dict)

    def add(
        self, issue_ref: str, body: dict[str, Any], author_id: str
    ) -> dict[str, Any]:
        """Add a worklog from a ``Worklog`` body, as ``author_id``."""
        issue = self.issues.get(issue_ref)
        seconds = body.get("timeSpentSeconds")
        if not isinstance(seconds, int) or seconds <= 0:
            raise FakeJiraError(
                400, errors={"timeLogged": "You must indicate the time spent working."}
            )
        try:
            # Jira starts the worklog now when the body names no start.
            started = (
                parse_jira_time(str(body["started"]))
                if body.get("started")
                else self.issues.site.clock.now()
            )
        except ValueError:
            raise FakeJiraError(
                400, errors={"started": "Invalid start date."}
            ) from None
        if (
            sum(1 for w in self.worklogs.values() if w["issueId"] == issue["id"])
            >= self.per_issue_cap
        ):
            raise FakeJiraError(413, ["The issue has reached its worklog limit."])
        now = self.issues.site.clock.now()
        worklog_id = self.issues.site.next_id()
        self.worklogs[worklog_id] = {
            "id": worklog_id,
            "issueId": issue["id"],
            "author": author_id,
            "comment": body.get("comment"),
            "started": started,
            "timeSpentSeconds": seconds,
            "created": now,
            "updated": now,
        }
        self.issues.touch(issue)
        return self.render(self.worklogs[worklog_id])

    def render(self, worklog: dict[str, Any]) -> dict[str, Any]:
        """Return a worklog as the API shows it."""
        site = self.issues.site
        author = site.user_json(site.users[worklog["author"]])
        seconds = worklog["timeSpentSeconds"]
        body = {
            "self": f"{site.base_url}/rest/api/3/issue/{worklog['issueId']}"
            f"/worklog/{worklog['id']}",
            "id": worklog["id"],
            "issueId": worklog["issueId"],
            "author": author,
            "updateAuthor": author,
            "started": format_jira_time(worklog["started"]),
            "created": format_jira_time(worklog["created"]),
            "updated": format_jira_time(worklog["updated"]),
            "timeSpentSeconds": seconds,
            "timeSpent": _duration(seconds),
        }
        if worklog["comment"] is not None:
            body["comment"] = worklog["comment"]
        return body

    def of_issue(
        self, issue_ref: str, start_at: int, max_results: int
    ) -> dict[str, Any]:
        """Return one page of an issue's worklogs."""
        issue = self.issues.get(issue_ref)
        mine = [
            self.render(w)
            for w in self.worklogs.values()
            if w["issueId"] == issue["id"]
        ]
        return {
            "startAt": start_at,
            "maxResults": max_results,
            "total": len(mine),
            "worklogs": mine[start_at : start_at + max_results],
        }

    def by_ids(self, ids: list[int]) -> list[dict[str, Any]]:
        """Return existing worklogs among ``ids`` (at most 1000)."""
        if len(ids) > 1000:
            raise FakeJiraError(
                400, ["The number of worklog IDs must not exceed 1000."]
            )
        return [
            self.render(self.worklogs[str(i)]) for i in ids if str(i) in self.worklogs
        ]

    def feed(self, since: int, *, deleted: bool, path: str) -> dict[str, Any]:
        """Return one page of the updated or deleted worklog feed from ``since``."""
        now_ms = to_epoch_ms(self.issues.site.clock.now())
        stamps = (
            {k: to_epoch_ms(v) for k, v in self.deleted.items()}
            if deleted
            else {k: to_epoch_ms(w["updated"]) for k, w in self.worklogs.items()}
        )
        changes = sorted(
            (t, int(k))
            for k, t in stamps.items()
            if since <= t <= now_ms - _FEED_SETTLE_MS
        )
        page = changes[:_FEED_PAGE]
        until = page[-1][0] if page else since
        base = self.issues.site.base_url
        body: dict[str, Any] = {
            "values": [
                {"worklogId": i, "updatedTime": t, "properties": []} for t, i in page
            ],
            "since": since,
            "until": until,
            "self": f"{base}{path}?since={since}",
            "lastPage": len(changes) <= _FEED_PAGE,
        }
        if not body["lastPage"]:
            body["nextPage"] = f"{base}{path}?since={until}"
        return body


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    parts = ([f"{hours}h"] if hours else []) + ([f"{minutes}m"] if minutes else [])
    return " ".join(parts) or "0m"
