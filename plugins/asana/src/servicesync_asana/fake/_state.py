"""The fake workspace's data: users, projects, sections, tasks, templates, jobs.

Every change goes through a method here, which stamps ``modified_at`` on the
fake's clock and records the event Asana would record, so the event feed and
the webhooks see exactly what the API changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from servicesync import Clock

from servicesync_asana.fake._errors import FakeAsanaError
from servicesync_asana.fake._records import (
    DEFAULT_SECTION,
    EventSink,
    FakeJob,
    FakeProject,
    FakeSection,
    FakeTask,
    FakeTemplate,
    FakeUser,
    asana_time,
)
from servicesync_asana.fake._views import Views

__all__ = ["Workspace"]


class Workspace:
    """One workspace (an organization) with its team, people and work.

    Args:
        clock: the fake's clock.
        base_url: where the fake is served, for permalinks.
        record: receives every event as it happens.
    """

    def __init__(self, clock: Clock, base_url: str, record: EventSink) -> None:
        self.clock = clock
        self.base_url = base_url
        self._record = record
        self._gids = itertools.count(1_201_000_000_000_001)
        self.gid = self.new_gid()
        self.name = "Acme delivery"
        self.team = self.new_gid()
        self.team_name = "Delivery"
        self.users: dict[str, FakeUser] = {}
        self.projects: dict[str, FakeProject] = {}
        self.sections: dict[str, FakeSection] = {}
        self.tasks: dict[str, FakeTask] = {}
        self.templates: dict[str, FakeTemplate] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.job_seconds = 3.0
        self.views = Views(self)

    def new_gid(self) -> str:
        """Return a fresh gid; gids grow with creation time."""
        return str(next(self._gids))

    def now(self) -> datetime:
        """The clock's time, cut to milliseconds as Asana keeps it."""
        moment = self.clock.now().astimezone(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    # -- people ----------------------------------------------------------

    def add_user(self, email: str, name: str) -> FakeUser:
        """Add a person to the workspace."""
        user = FakeUser(self.new_gid(), name, email)
        self.users[user.gid] = user
        return user

    def user(self, ref: str, me: str | None = None) -> FakeUser:
        """Find a user by gid, email or ``me``.

        Raises:
            FakeAsanaError: 400 when nobody matches.
        """
        if ref == "me" and me in self.users:
            return self.users[str(me)]
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            if user.email.lower() == ref.strip().lower():
                return user
        raise FakeAsanaError(400, f"Not a recognized ID or email: {ref}")

    # -- projects --------------------------------------------------------

    def create_project(
        self, data: Mapping[str, Any], owner: str | None, template: str | None = None
    ) -> FakeProject:
        """Create a project from a ``POST /projects`` body."""
        workspace = data.get("workspace")
        team = data.get("team")
        if not workspace and not team:
            raise FakeAsanaError(400, "workspace: Missing input")
        if workspace and str(workspace) != self.gid:
            raise FakeAsanaError(400, "workspace: Not a recognized ID")
        if team and str(team) != self.team:
            raise FakeAsanaError(400, "team: Not a recognized ID")
        if not team:
            # The workspace is an organization: a project must be shared.
            raise FakeAsanaError(400, "team: Missing input; an organization needs one")
        now = self.now()
        project = FakeProject(
            gid=self.new_gid(),
            name=str(data.get("name") or ""),
            notes=str(data.get("notes") or ""),
            team=str(team),
            created_at=now,
            modified_at=now,
            owner=owner,
            members=[owner] if owner else [],
            template=template,
        )
        self.projects[project.gid] = project
        self.create_section(project.gid, DEFAULT_SECTION, owner)
        return project

    def project(self, gid: str) -> FakeProject:
        """Return the project ``gid``, or answer 404."""
        if gid not in self.projects:
            raise FakeAsanaError(404, "project: Unknown object")
        return self.projects[gid]

    def update_project(self, gid: str, data: Mapping[str, Any]) -> FakeProject:
        """Change a project's name, notes or archived flag."""
        project = self.project(gid)
        for key in ("name", "notes"):
            if key in data:
                setattr(project, key, str(data[key]))
        if "archived" in data:
            project.archived = bool(data["archived"])
        project.modified_at = self.now()
        self._event("changed", self.views.compact_project(project), None, {project.gid})
        return project

    def add_members(self, gid: str, members: str, me: str | None) -> FakeProject:
        """Add comma-separated users (gids, emails or ``me``) to a project."""
        project = self.project(gid)
        refs = [m.strip() for m in str(members).split(",") if m.strip()]
        if not refs:
            raise FakeAsanaError(400, "members: Missing input")
        users = []
        for ref in refs:
            try:
                users.append(self.user(ref, me))
            except FakeAsanaError:
                raise FakeAsanaError(
                    400, f"members: Not a recognized ID: {ref}"
                ) from None
        for user in users:
            if user.gid not in project.members:
                project.members.append(user.gid)
        project.modified_at = self.now()
        return project

    # -- sections --------------------------------------------------------

    def create_section(
        self, project_gid: str, name: str, user: str | None
    ) -> FakeSection:
        """Add a section at the end of a project."""
        project = self.project(project_gid)
        if not name:
            raise FakeAsanaError(400, "name: Missing input")
        section = FakeSection(self.new_gid(), name, project.gid, self.now())
        self.sections[section.gid] = section
        project.sections.append(section.gid)
        parent = self.views.compact_project(project)
        self._event(
            "added", self.views.compact_section(section), parent, {project.gid}, user
        )
        return section

    def section(self, gid: str) -> FakeSection:
        """Return the section ``gid``, or answer 404."""
        if gid not in self.sections:
            raise FakeAsanaError(404, "section: Unknown object")
        return self.sections[gid]

    def update_section(
        self, gid: str, data: Mapping[str, Any], user: str | None
    ) -> FakeSection:
        """Apply a ``PUT /sections/{gid}`` body: a new name, never an empty one."""
        section = self.section(gid)
        if "name" in data:
            name = str(data["name"] or "")
            if not name:
                raise FakeAsanaError(400, "name: Cannot be an empty string.")
            if name != section.name:
                section.name = name
                change = {"field": "name", "action": "changed"}
                self._event(
                    "changed",
                    self.views.compact_section(section),
                    None,
                    {section.project},
                    user,
                    change,
                )
        return section

    # -- tasks -----------------------------------------------------------

    def create_task(self, data: Mapping[str, Any], me: str | None) -> FakeTask:
        """Create a task from a ``POST /tasks`` body."""
        memberships = self._memberships(data)
        if not memberships and not data.get("workspace"):
            msg = "workspace: Missing input; give projects, memberships or workspace"
            raise FakeAsanaError(400, msg)
        assignee = self._assignee(data.get("assignee"), me)
        now = self.now()
        task = FakeTask(
            gid=self.new_gid(),
            name=str(data.get("name") or ""),
            notes=str(data.get("notes") or ""),
            created_at=now,
            modified_at=now,
            memberships=memberships,
            assignee=assignee,
            due_on=_date(data.get("due_on"), "due_on"),
            start_on=_date(data.get("start_on"), "start_on"),
            resource_subtype=str(data.get("resource_subtype") or "default_task"),
        )
        if data.get("completed"):
            task.completed, task.completed_at = True, now
        self.tasks[task.gid] = task
        for project_gid, _ in memberships:
            self.projects[project_gid].tasks.append(task.gid)
            parent = self.views.compact_project(self.projects[project_gid])
            self._event(
                "added", self.views.compact_task(task), parent, {project_gid}, me
            )
        return task

    def task(self, gid: str) -> FakeTask:
        """Return the task ``gid``, or answer 404."""
        if gid not in self.tasks:
            raise FakeAsanaError(404, "task: Unknown object")
        return self.tasks[gid]

    def update_task(
        self, gid: str, data: Mapping[str, Any], me: str | None
    ) -> FakeTask:
        """Apply a ``PUT /tasks/{gid}`` body; each changed field is an event."""
        task = self.task(gid)
        changed: list[str] = []
        for key in ("name", "notes"):
            if key in data and data[key] != getattr(task, key):
                setattr(task, key, str(data[key]))
                changed.append(key)
        for key in ("due_on", "start_on"):
            if key in data and data[key] != getattr(task, key):
                setattr(task, key, _date(data[key], key))
                changed.append(key)
        if "assignee" in data:
            assignee = self._assignee(data["assignee"], me)
            if assignee != task.assignee:
                task.assignee = assignee
                changed.append("assignee")
        if "completed" in data and bool(data["completed"]) != task.completed:
            task.completed = bool(data["completed"])
            task.completed_at = self.now() if task.completed else None
            changed.append("completed")
        if changed:
            self.touch(task, changed, me)
        return task

    def touch(
        self, task: FakeTask, changed: Iterable[str], user: str | None = None
    ) -> None:
        """Stamp a change of ``task`` and record one event per changed field."""
        task.modified_at = self.now()
        watchers = {p for p, _ in task.memberships} | {task.gid}
        for name in changed:
            change = {"field": name, "action": "changed"}
            self._event(
                "changed", self.views.compact_task(task), None, watchers, user, change
            )

    def delete_task(self, gid: str, me: str | None) -> None:
        """Delete a task and record it."""
        task = self.task(gid)
        for project_gid, _ in task.memberships:
            self.projects[project_gid].tasks.remove(task.gid)
        del self.tasks[gid]
        watchers = {p for p, _ in task.memberships} | {task.gid}
        self._event("deleted", self.views.compact_task(task), None, watchers, me)

    def _memberships(self, data: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        pairs: list[tuple[str, str | None]] = []
        for item in data.get("memberships") or []:
            if not isinstance(item, Mapping):
                raise FakeAsanaError(400, "memberships: Not a list of objects")
            project = str(_gid_of(item.get("project")))
            section = _gid_of(item.get("section"))
            self.project(project)
            if section is not None:
                found = self.sections.get(str(section))
                if found is None or found.project != project:
                    raise FakeAsanaError(400, "memberships: Section not in project")
            pairs.append((project, str(section) if section else None))
        for project in data.get("projects") or []:
            if str(project) not in [p for p, _ in pairs]:
                self.project(str(project))
                pairs.append((str(project), None))
        return [(p, s or self._first_section(p)) for p, s in pairs]

    def _first_section(self, project: str) -> str | None:
        sections = self.projects[project].sections
        return sections[0] if sections else None

    def _assignee(self, ref: Any, me: str | None) -> str | None:
        if ref in (None, ""):
            return None
        try:
            return self.user(str(ref), me).gid
        except FakeAsanaError:
            raise FakeAsanaError(
                400, f"assignee: Not a recognized ID or email: {ref}"
            ) from None

    # -- templates and jobs -------------------------------------------------

    def add_template(
        self, name: str, sections: list[str], tasks: list[tuple[str, str]]
    ) -> FakeTemplate:
        """Add a project template with sections and tasks in them."""
        template = FakeTemplate(self.new_gid(), name, sections, tasks)
        self.templates[template.gid] = template
        return template

    def instantiate(self, gid: str, data: Mapping[str, Any], me: str | None) -> FakeJob:
        """Start making a project from template ``gid``; return the job.

        The project exists at once, under its name; the job reports success
        ``job_seconds`` later.
        """
        if gid not in self.templates:
            raise FakeAsanaError(404, "project_template: Unknown object")
        if not data.get("name"):
            raise FakeAsanaError(400, "name: Missing input")
        template = self.templates[gid]
        body = {"name": data["name"], "team": data.get("team") or self.team}
        project = self.create_project(body, me, template=gid)
        sections = {}
        for name in template.sections:
            sections[name] = self.create_section(project.gid, name, me).gid
        for name, section in template.tasks:
            membership = {"project": project.gid, "section": sections.get(section)}
            self.create_task({"name": name, "memberships": [membership]}, me)
        ready = self.now() + timedelta(seconds=self.job_seconds)
        job = FakeJob(self.new_gid(), project.gid, ready)
        self.jobs[job.gid] = job
        return job

    def job_status(self, job: FakeJob) -> str:
        """Return where a job stands on the clock."""
        return "succeeded" if self.now() >= job.ready_at else "in_progress"

    # -- events ----------------------------------------------------------

    def _event(
        self,
        action: str,
        resource: dict[str, Any],
        parent: dict[str, Any] | None,
        watchers: set[str],
        user: str | None = None,
        change: dict[str, Any] | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "user": self.views.compact_user(user),
            "created_at": asana_time(self.now()),
            "action": action,
            "resource": resource,
            "parent": parent,
            "type": resource["resource_type"],
        }
        if change is not None:
            event["change"] = change
        self._record(event, watchers)


def _gid_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("gid")
    return str(value) if value not in (None, "") else None


def _date(value: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise FakeAsanaError(400, f"{name}: Not a valid date: {value}") from None
