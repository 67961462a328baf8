"""How the fake shows its records: compact references and full resources."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicesync_asana.fake._records import (
    FakeJob,
    FakeProject,
    FakeSection,
    FakeTask,
    FakeUser,
    asana_time,
)

if TYPE_CHECKING:
    from servicesync_asana.fake._state import Workspace

__all__ = ["Views"]


class Views:
    """Renders the records of one workspace as the API shows them."""

    def __init__(self, space: Workspace) -> None:
        self.space = space

    def compact_user(self, gid: str | None) -> dict[str, Any] | None:
        """A user as other resources name it."""
        if gid is None or gid not in self.space.users:
            return None
        user = self.space.users[gid]
        return {"gid": user.gid, "resource_type": "user", "name": user.name}

    def full_user(self, user: FakeUser) -> dict[str, Any]:
        """A user as ``GET /users/{gid}`` shows it."""
        return {
            "gid": user.gid,
            "resource_type": "user",
            "name": user.name,
            "email": user.email,
            "photo": None,
            "workspaces": [self.compact_workspace()],
        }

    def compact_workspace(self) -> dict[str, Any]:
        """The workspace as other resources name it."""
        return {
            "gid": self.space.gid,
            "resource_type": "workspace",
            "name": self.space.name,
        }

    def compact_project(self, project: FakeProject) -> dict[str, Any]:
        """A project as lists and other resources show it."""
        return {"gid": project.gid, "resource_type": "project", "name": project.name}

    def full_project(self, project: FakeProject) -> dict[str, Any]:
        """A project with every field the fake keeps."""
        template = self.space.templates.get(project.template or "")
        return {
            **self.compact_project(project),
            "archived": project.archived,
            "completed": False,
            "completed_at": None,
            "created_at": asana_time(project.created_at),
            "modified_at": asana_time(project.modified_at),
            "notes": project.notes,
            "due_on": None,
            "start_on": None,
            "public": False,
            "owner": self.compact_user(project.owner),
            "members": [self.compact_user(m) for m in project.members],
            "followers": [],
            "team": self._team(project),
            "workspace": self.compact_workspace(),
            "permalink_url": f"{self.space.base_url}/0/{project.gid}/list",
            "created_from_template": (
                {"gid": template.gid, "resource_type": "project_template",
                 "name": template.name}
                if template
                else None
            ),
        }  # fmt: skip

    def _team(self, project: FakeProject) -> dict[str, Any]:
        name = self.space.team_name
        return {"gid": project.team, "resource_type": "team", "name": name}

    def compact_section(self, section: FakeSection) -> dict[str, Any]:
        """A section as lists and other resources show it."""
        return {"gid": section.gid, "resource_type": "section", "name": section.name}

    def full_section(self, section: FakeSection) -> dict[str, Any]:
        """A section with its project."""
        project = self.compact_project(self.space.projects[section.project])
        return {
            **self.compact_section(section),
            "created_at": asana_time(section.created_at),
            "project": project,
            "projects": [project],
        }

    def compact_task(self, task: FakeTask) -> dict[str, Any]:
        """A task as lists and other resources show it."""
        return {
            "gid": task.gid,
            "resource_type": "task",
            "name": task.name,
            "resource_subtype": task.resource_subtype,
        }

    def full_task(self, task: FakeTask) -> dict[str, Any]:
        """A task with every field the fake keeps."""
        memberships = []
        for project_gid, section_gid in task.memberships:
            entry: dict[str, Any] = {
                "project": self.compact_project(self.space.projects[project_gid])
            }
            if section_gid in self.space.sections:
                entry["section"] = self.compact_section(
                    self.space.sections[section_gid]
                )
            memberships.append(entry)
        return {
            **self.compact_task(task),
            "notes": task.notes,
            "completed": task.completed,
            "completed_at": asana_time(task.completed_at)
            if task.completed_at
            else None,
            "due_on": task.due_on,
            "due_at": task.due_at,
            "start_on": task.start_on,
            "created_at": asana_time(task.created_at),
            "modified_at": asana_time(task.modified_at),
            "assignee": self.compact_user(task.assignee),
            "memberships": memberships,
            "projects": [
                self.compact_project(self.space.projects[p])
                for p, _ in task.memberships
            ],
            "workspace": self.compact_workspace(),
            "permalink_url": f"{self.space.base_url}/0/0/{task.gid}",
        }

    def full_job(self, job: FakeJob) -> dict[str, Any]:
        """A job and the project it makes."""
        project = self.space.projects.get(job.project)
        return {
            "gid": job.gid,
            "resource_type": "job",
            "resource_subtype": job.subtype,
            "status": self.space.job_status(job),
            "new_project": self.compact_project(project) if project else None,
        }
