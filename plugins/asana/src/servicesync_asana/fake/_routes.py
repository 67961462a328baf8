"""The REST endpoints of the fake workspace, as Starlette routes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from servicesync_asana.fake._errors import FakeAsanaError
from servicesync_asana.fake._http import API, answer, data_of, listing, shaped, user_of
from servicesync_asana.fake._records import FakeTask

if TYPE_CHECKING:
    from servicesync_asana.fake._service import AsanaFake

__all__ = ["build_routes"]


def _compact(*keys: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def pick(row: dict[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in keys if k in row}

    return pick


_COMPACT = _compact("gid", "resource_type", "name")
_COMPACT_TASK = _compact("gid", "resource_type", "name", "resource_subtype")


def _since(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FakeAsanaError(400, f"{name}: Not a valid date-time: {raw}") from None


def build_routes(fake: AsanaFake) -> list[Route]:
    """Return the workspace endpoints of ``fake``."""
    space = fake.space
    views = space.views

    @answer()
    async def get_user(request: Request) -> Any:
        user = space.user(request.path_params["user_gid"], user_of(request))
        return {"data": shaped(request, views.full_user(user))}

    @answer()
    async def list_users(request: Request) -> Any:
        if request.query_params.get("workspace") not in (None, space.gid):
            raise FakeAsanaError(404, "workspace: Unknown object")
        rows = list(space.users.values())
        return listing(fake, request, rows, views.full_user, _COMPACT, "users")

    def projects(request: Request) -> Any:
        archived = request.query_params.get("archived")
        rows = list(space.projects.values())
        if archived is not None:
            wanted = archived.lower() == "true"
            rows = [p for p in rows if p.archived == wanted]
        render = views.full_project
        return listing(fake, request, rows, render, _COMPACT, "projects")

    @answer()
    async def workspace_projects(request: Request) -> Any:
        if request.path_params["workspace_gid"] != space.gid:
            raise FakeAsanaError(404, "workspace: Unknown object")
        return projects(request)

    @answer()
    async def team_projects(request: Request) -> Any:
        if request.path_params["team_gid"] != space.team:
            raise FakeAsanaError(404, "team: Unknown object")
        return projects(request)

    @answer(201)
    async def create_project(request: Request) -> Any:
        project = space.create_project(await data_of(request), user_of(request))
        return {"data": shaped(request, views.full_project(project))}

    @answer()
    async def get_project(request: Request) -> Any:
        project = space.project(request.path_params["project_gid"])
        return {"data": shaped(request, views.full_project(project))}

    @answer()
    async def update_project(request: Request) -> Any:
        gid = request.path_params["project_gid"]
        project = space.update_project(gid, await data_of(request))
        return {"data": shaped(request, views.full_project(project))}

    @answer()
    async def add_members(request: Request) -> Any:
        data = await data_of(request)
        if not data.get("members"):
            raise FakeAsanaError(400, "members: Missing input")
        gid = request.path_params["project_gid"]
        project = space.add_members(gid, str(data["members"]), user_of(request))
        return {"data": shaped(request, views.full_project(project))}

    @answer()
    async def list_sections(request: Request) -> Any:
        project = space.project(request.path_params["project_gid"])
        rows = [space.sections[s] for s in project.sections]
        key = f"sections:{project.gid}"
        return listing(fake, request, rows, views.full_section, _COMPACT, key)

    @answer(201)
    async def create_section(request: Request) -> Any:
        data = await data_of(request)
        gid = request.path_params["project_gid"]
        section = space.create_section(
            gid, str(data.get("name") or ""), user_of(request)
        )
        return {"data": shaped(request, views.full_section(section))}

    @answer()
    async def update_section(request: Request) -> Any:
        gid = request.path_params["section_gid"]
        data = await data_of(request)
        section = space.update_section(gid, data, user_of(request))
        return {"data": shaped(request, views.full_section(section))}

    def task_rows(project_gid: str, request: Request) -> list[FakeTask]:
        project = space.project(project_gid)
        tasks = [space.tasks[t] for t in project.tasks]
        modified = _since(request, "modified_since")
        completed = _since(request, "completed_since")
        if modified is not None:
            tasks = [t for t in tasks if t.modified_at >= modified]
        if completed is not None:
            tasks = [
                t
                for t in tasks
                if not t.completed or (t.completed_at and t.completed_at >= completed)
            ]
        return tasks

    @answer()
    async def project_tasks(request: Request) -> Any:
        gid = request.path_params["project_gid"]
        rows = task_rows(gid, request)
        key = f"tasks:{gid}"
        return listing(fake, request, rows, views.full_task, _COMPACT_TASK, key)

    @answer()
    async def list_tasks(request: Request) -> Any:
        project = request.query_params.get("project")
        if not project:
            msg = "project: Give a project (or a tag, or an assignee and workspace)."
            raise FakeAsanaError(400, msg)
        rows = task_rows(project, request)
        key = f"tasks:{project}"
        return listing(fake, request, rows, views.full_task, _COMPACT_TASK, key)

    @answer(201)
    async def create_task(request: Request) -> Any:
        task = space.create_task(await data_of(request), user_of(request))
        return {"data": shaped(request, views.full_task(task))}

    @answer()
    async def get_task(request: Request) -> Any:
        task = space.task(request.path_params["task_gid"])
        return {"data": shaped(request, views.full_task(task))}

    @answer()
    async def update_task(request: Request) -> Any:
        gid = request.path_params["task_gid"]
        task = space.update_task(gid, await data_of(request), user_of(request))
        return {"data": shaped(request, views.full_task(task))}

    @answer()
    async def delete_task(request: Request) -> Any:
        space.delete_task(request.path_params["task_gid"], user_of(request))
        return {"data": {}}

    @answer()
    async def get_template(request: Request) -> Any:
        gid = request.path_params["project_template_gid"]
        if gid not in space.templates:
            raise FakeAsanaError(404, "project_template: Unknown object")
        template = space.templates[gid]
        full = {
            "gid": template.gid,
            "resource_type": "project_template",
            "name": template.name,
            "requested_dates": [],
            "requested_roles": [],
        }
        return {"data": shaped(request, full)}

    @answer(201)
    async def instantiate(request: Request) -> Any:
        gid = request.path_params["project_template_gid"]
        job = space.instantiate(gid, await data_of(request), user_of(request))
        return {"data": shaped(request, views.full_job(job))}

    @answer()
    async def get_job(request: Request) -> Any:
        job = space.jobs.get(request.path_params["job_gid"])
        if job is None:
            raise FakeAsanaError(404, "job: Unknown object")
        return {"data": shaped(request, views.full_job(job))}

    @answer()
    async def events(request: Request) -> Any:
        resource = request.query_params.get("resource")
        if not resource:
            raise FakeAsanaError(400, "resource: Missing input")
        if resource not in space.projects and resource not in space.tasks:
            raise FakeAsanaError(404, "resource: Unknown object")
        return fake.events.read(resource, request.query_params.get("sync"))

    return [
        Route(f"{API}/users", list_users, methods=["GET"]),
        Route(f"{API}/users/{{user_gid}}", get_user, methods=["GET"]),
        Route(
            f"{API}/workspaces/{{workspace_gid}}/projects",
            workspace_projects,
            methods=["GET"],
        ),
        Route(f"{API}/teams/{{team_gid}}/projects", team_projects, methods=["GET"]),
        Route(f"{API}/projects", create_project, methods=["POST"]),
        Route(f"{API}/projects/{{project_gid}}", get_project, methods=["GET"]),
        Route(f"{API}/projects/{{project_gid}}", update_project, methods=["PUT"]),
        Route(
            f"{API}/projects/{{project_gid}}/addMembers", add_members, methods=["POST"]
        ),
        Route(
            f"{API}/projects/{{project_gid}}/sections", list_sections, methods=["GET"]
        ),
        Route(
            f"{API}/projects/{{project_gid}}/sections",
            create_section,
            methods=["POST"],
        ),
        Route(f"{API}/sections/{{section_gid}}", update_section, methods=["PUT"]),
        Route(f"{API}/projects/{{project_gid}}/tasks", project_tasks, methods=["GET"]),
        Route(f"{API}/tasks", list_tasks, methods=["GET"]),
        Route(f"{API}/tasks", create_task, methods=["POST"]),
        Route(f"{API}/tasks/{{task_gid}}", get_task, methods=["GET"]),
        Route(f"{API}/tasks/{{task_gid}}", update_task, methods=["PUT"]),
        Route(f"{API}/tasks/{{task_gid}}", delete_task, methods=["DELETE"]),
        Route(
            f"{API}/project_templates/{{project_template_gid}}",
            get_template,
            methods=["GET"],
        ),
        Route(
            f"{API}/project_templates/{{project_template_gid}}/instantiateProject",
            instantiate,
            methods=["POST"],
        ),
        Route(f"{API}/jobs/{{job_gid}}", get_job, methods=["GET"]),
        Route(f"{API}/events", events, methods=["GET"]),
    ]
