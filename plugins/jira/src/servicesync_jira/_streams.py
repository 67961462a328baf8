"""Reading projects and issues, and summing up progress per milestone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from servicesync.contract import Page, Record, Stream, StreamState

from servicesync_jira._client import API
from servicesync_jira._errors import raise_for_status
from servicesync_jira._timefmt import to_epoch_ms

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = [
    "ISSUE_FIELDS",
    "IssuesStream",
    "Progress",
    "ProjectsStream",
    "VersionsStream",
    "milestone_progress",
]

ISSUE_FIELDS = [
    "summary",
    "status",
    "labels",
    "assignee",
    "fixVersions",
    "parent",
    "duedate",
    "project",
    "issuetype",
    "created",
    "updated",
]
_PROJECT_PAGE = 50
_ISSUE_PAGE = 100
_BULK_FETCH = 100
# A bound on the pages of one window, so a search that never says it is
# done cannot keep a run going for ever.
_MAX_ISSUE_PAGES = 1000


class ProjectsStream(Stream):
    """Every project the connection can see, read in full each time."""

    name = "projects"
    record_type = "project"
    incremental = False

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        client, start = self.connector.client, 0
        while True:
            # The description holds the budget line and the lost mark; the
            # search leaves it out unless asked.
            response = await client.get(
                f"{API}/project/search",
                params={
                    "startAt": start,
                    "maxResults": _PROJECT_PAGE,
                    "expand": "description",
                },
            )
            raise_for_status(response, "list projects")
            body = client.json(response)
            values = body.get("values", [])
            records = [Record.of(p["id"], p) for p in values]
            if body.get("isLast", True) or not values:
                yield Page(records, state)
                return
            yield Page(records, state)
            start += len(values)


class IssuesStream(Stream):
    """Issues changed within the state's window, by ``updated``, in id order.

    The window ends ``search_settle_seconds`` before now, because the search
    index shows writes late; what it has not shown yet falls in the next
    window. Bounds go into JQL as epoch milliseconds. Each page is a new
    search for ids past the last one read rather than a ``nextPageToken``:
    an issue changed during the run leaves the window, and a token that
    counts its position would then skip the issue after it.
    """

    name = "issues"
    record_type = "task"

    def __init__(
        self, connector: JiraConnector, project_keys: Iterable[str] = ()
    ) -> None:
        self.connector = connector
        self.project_keys = list(project_keys)

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        if not state.in_window:
            settle = timedelta(seconds=self.connector.config.search_settle_seconds)
            state = state.open_window(
                state.cursor, self.connector.context.clock.now() - settle
            )
        for _ in range(_MAX_ISSUE_PAGES):
            issues, last = await self._search(self._jql(state))
            records = [Record.of(i["id"], i) for i in issues]
            if records:
                state = state.resume_at(records[-1].external_id)
            yield Page(records, state)
            if last or not records:
                break
        yield Page([], state.complete_window())

    async def read_records(self, external_ids: Sequence[str]) -> Sequence[Record]:
        """Read issues by id with ``bulkfetch``, which sees writes at once.

        The search index lags behind writes; a webhook names an issue that
        changed a moment ago, so it is fetched by id instead.
        """
        client, found = self.connector.client, []
        for start in range(0, len(external_ids), _BULK_FETCH):
            body = {
                "issueIdsOrKeys": list(external_ids[start : start + _BULK_FETCH]),
                "fields": self._fields(),
            }
            response = await client.post(
                f"{API}/issue/bulkfetch", json=body, idempotent=True
            )
            raise_for_status(response, "fetch issues by id")
            issues = client.json(response).get("issues", [])
            found += [Record.of(i["id"], i) for i in issues]
        return found

    async def _search(self, jql: str) -> tuple[list[dict[str, Any]], bool]:
        """Return the first page ``jql`` finds, and whether nothing follows it."""
        client = self.connector.client
        body = {"jql": jql, "fields": self._fields(), "maxResults": _ISSUE_PAGE}
        response = await client.post(f"{API}/search/jql", json=body, idempotent=True)
        raise_for_status(response, "search issues")
        data = client.json(response)
        last = bool(data.get("isLast", True)) or not data.get("nextPageToken")
        return list(data.get("issues", [])), last

    def _fields(self) -> list[str]:
        """The fields read of each issue.

        In epic mode a deal's epic holds its budget line in its description,
        which two-way consistency reads; other issues' descriptions are not
        needed, and can be long, so project mode leaves them out.
        """
        if self.connector.config.mode == "epic":
            return [*ISSUE_FIELDS, "description"]
        return ISSUE_FIELDS

    def _jql(self, state: StreamState) -> str:
        clauses = []
        if self.project_keys:
            clauses.append(f"project in ({', '.join(self.project_keys)})")
        if state.window_start is not None:
            clauses.append(f"updated >= {to_epoch_ms(state.window_start)}")
        assert state.window_end is not None
        clauses.append(f"updated < {to_epoch_ms(state.window_end)}")
        if state.resume_after:
            clauses.append(f"id > {state.resume_after}")
        return " AND ".join(clauses) + " ORDER BY id ASC"


class VersionsStream(Stream):
    """The versions (milestones) of every project, read in full each time.

    Jira's answer names a version's project by id only; each version is
    read under its project, and carries that project's key as ``project``
    (a field of Jira's own version schema), which is how the deal's project
    is named everywhere else.
    """

    name = "versions"
    record_type = "milestone"
    incremental = False

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        keys = await self._project_keys()
        client = self.connector.client
        for key in keys:
            response = await client.get(f"{API}/project/{key}/versions")
            if response.status_code == 404:
                continue  # gone since the list was read
            raise_for_status(response, f"list the versions of {key!r}")
            versions = client.json(response)
            yield Page(
                [Record.of(v["id"], {**v, "project": key}) for v in versions], state
            )
        if not keys:
            yield Page([], state)

    async def _project_keys(self) -> list[str]:
        client, start, keys = self.connector.client, 0, []
        while True:
            response = await client.get(
                f"{API}/project/search",
                params={"startAt": start, "maxResults": _PROJECT_PAGE},
            )
            raise_for_status(response, "list projects")
            body = client.json(response)
            values = body.get("values", [])
            keys += [str(p["key"]) for p in values]
            if body.get("isLast", True) or not values:
                return keys
            start += len(values)


@dataclass(frozen=True)
class Progress:
    """How much of one milestone is done."""

    done: int
    total: int

    @property
    def ratio(self) -> float:
        """The share done, 0 when the milestone has no tasks."""
        return self.done / self.total if self.total else 0.0


def milestone_progress(issues: Iterable[Mapping[str, Any]]) -> dict[str, Progress]:
    """Count done and total tasks per milestone (version id or parent epic key).

    An issue is done when its status category is ``done``.
    """
    counts: dict[str, list[int]] = {}
    for issue in issues:
        fields = issue.get("fields") or {}
        category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
        milestones = [str(v["id"]) for v in fields.get("fixVersions") or []]
        if fields.get("parent"):
            milestones.append(str(fields["parent"]["key"]))
        for milestone in milestones:
            tally = counts.setdefault(milestone, [0, 0])
            tally[0] += category == "done"
            tally[1] += 1
    return {m: Progress(done, total) for m, (done, total) in counts.items()}
