"""The task stream: events between full reads by ``modified_since``.

A run follows one of two paths:

* **reconcile**: a fresh sync token is taken for every project first, then
  the tasks modified within the window (from the last reconcile, minus the
  overlap, to now) are read project by project, page by page. It runs on
  the first read, every ``reconcile_hours``, whenever a project has no
  token yet, and when a token went stale (412). Because Asana delivers
  events at most once, this read is what makes the stream complete.
* **events**: each project's events since its token name the tasks that
  changed; those are read again (ten per ``/batch`` call) and the page
  carries the new token, so a run stopped half way resumes where it left.

``modified_since`` has no upper bound in Asana: rows modified at or after
the window's end are left for the next run, which sees them anyway.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from servicesync.contract import Page, Record, StreamState, payload_hash
from servicesync_sdk.base import Batch, Window, WindowedStream

from servicesync_asana._client import BATCH_SIZE, OffsetExpired, batch_refusal, fields
from servicesync_asana._events import EventFeed, StaleToken, changed_tasks
from servicesync_asana._times import format_time, parse_time

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = ["TASK_FIELDS", "TasksStream"]

logger = logging.getLogger(__name__)

#: The fields each task record carries: status, section, due dates, assignee.
TASK_FIELDS = [
    "name",
    "resource_subtype",
    "completed",
    "completed_at",
    "due_on",
    "due_at",
    "start_on",
    "assignee",
    "assignee.name",
    "memberships.project",
    "memberships.project.name",
    "memberships.section",
    "memberships.section.name",
    "created_at",
    "modified_at",
    "permalink_url",
]


class TasksStream(WindowedStream):
    """Tasks of the projects in scope, with their status, section and dates."""

    name = "tasks"
    record_type = "task"
    primary_key = "gid"

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector
        self.feed = EventFeed(connector.api)

    async def service_now(self) -> datetime:
        # Asana offers no clock of its own to read; the overlap covers skew.
        return self.connector.context.clock.now()

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        """Resume an open window, or follow events, or read everything changed."""
        if state.in_window:
            async for page in super().read(state):
                yield page
            return
        projects = await self.connector.scope()
        if self._reconcile_due(state, projects):
            async for page in self._reconcile(state, projects):
                yield page
            return
        fresh: dict[str, str] = {}
        for project in projects:
            try:
                async for page in self._changes(project, state):
                    state = page.checkpoint
                    yield page
            except StaleToken as stale:
                logger.info("An Asana sync token went stale; reading changes in full")
                fresh = {project: stale.fresh} if stale.fresh else {}
                break
        else:
            return
        async for page in self._reconcile(state, projects, fresh):
            yield page

    def _reconcile_due(self, state: StreamState, projects: Sequence[str]) -> bool:
        if state.cursor is None or any(p not in state.tokens for p in projects):
            return True
        every = timedelta(hours=self.connector.config.reconcile_hours)
        return self.connector.context.clock.now() - state.cursor >= every

    async def _reconcile(
        self,
        state: StreamState,
        projects: Sequence[str],
        fresh: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Page]:
        # Tokens first: a change made while the window is read shows up in
        # the events the next run follows. A 412 already handed one out.
        tokens = dict(fresh or {})
        for project in projects:
            if project not in tokens:
                tokens[project] = await self.feed.fresh_token(project)
        state = state.model_copy(update={"tokens": tokens})
        async for page in super().read(state):
            yield page

    async def _changes(self, project: str, state: StreamState) -> AsyncIterator[Page]:
        async for events, token in self.feed.pages(project, state.tokens[project]):
            touched, deleted = changed_tasks(events)
            rows = await self.connector.read_tasks(
                [t for t in touched if t not in deleted]
            )
            records = [
                self.record(rows[gid]) if rows.get(gid) else _gone(gid)
                for gid in touched
            ]
            state = state.model_copy(
                update={"tokens": {**state.tokens, project: token}}
            )
            yield Page(records, state)

    async def fetch(self, window: Window, position: str | None) -> Batch:
        """Read one page of one project's tasks modified within ``window``."""
        projects = await self.connector.scope()
        project, offset = _parse_position(position, projects)
        if project is None:
            return Batch([], None)
        params: dict[str, Any] = {"project": project, "opt_fields": fields(TASK_FIELDS)}
        if window.start is not None:
            params["modified_since"] = format_time(window.start)
        api = self.connector.api
        try:
            rows, following = await api.page("/tasks", "list tasks", params, offset)
        except OffsetExpired:
            logger.info("A page token of project %s expired; reading it again", project)
            rows, following = await api.page("/tasks", "list tasks", params)
        rows = [r for r in rows if parse_time(str(r["modified_at"])) < window.end]
        if following:
            return Batch(rows, f"{project}|{following}")
        later = [p for p in projects if int(p) > int(project)]
        return Batch(rows, f"{later[0]}|" if later else None)

    async def read_records(self, external_ids: Sequence[str]) -> Sequence[Record]:
        """Read the named tasks again, leaving out those Asana no longer has."""
        rows = await self.connector.read_tasks(list(external_ids))
        return [self.record(row) for row in rows.values() if row]


def _parse_position(
    position: str | None, projects: Sequence[str]
) -> tuple[str | None, str | None]:
    """Return the project and page token a position names.

    A position is ``<project gid>|<offset token>``; a project that left the
    scope since is replaced by the next one in gid order.
    """
    if not projects:
        return None, None
    if position is None:
        return projects[0], None
    project, _, offset = position.partition("|")
    if project in projects:
        return project, offset or None
    later = [p for p in projects if int(p) > int(project)]
    return (later[0] if later else None), None


def _gone(gid: str) -> Record:
    payload: Mapping[str, Any] = {"gid": gid, "deleted": True}
    return Record(gid, payload, payload_hash(payload), deleted=True)


async def read_tasks(connector: AsanaConnector, gids: list[str]) -> dict[str, Any]:
    """Return each task's record by gid (``None`` when Asana no longer has it)."""
    found: dict[str, Any] = {}
    for start in range(0, len(gids), BATCH_SIZE):
        chunk = gids[start : start + BATCH_SIZE]
        actions = [
            {
                "relative_path": f"/tasks/{gid}",
                "method": "get",
                "options": {"fields": TASK_FIELDS},
            }
            for gid in chunk
        ]
        answers = await connector.api.batch(actions)
        for gid, answer in zip(chunk, answers, strict=True):
            if answer.ok:
                found[gid] = answer.data
            elif answer.status == 404:
                found[gid] = None
            else:
                raise batch_refusal(answer, f"read the task {gid}")
    return found
