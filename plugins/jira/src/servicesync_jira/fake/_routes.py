"""The REST endpoints of the fake site, as Starlette routes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicesync_jira.fake._errors import FakeJiraError
from servicesync_jira.fake._issues import gone_body

if TYPE_CHECKING:
    from servicesync_jira.fake._service import JiraFake

__all__ = ["build_routes"]

Handler = Callable[[Request], Awaitable[Any]]
API = "/rest/api/3"


def _json(
    status: int = 200,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Answer a handler's value as JSON; a ``FakeJiraError`` as its error body."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                result = await handler(request)
            except FakeJiraError as exc:
                return JSONResponse(exc.body, status_code=exc.status)
            if isinstance(result, Response):
                return result
            return JSONResponse(result, status_code=status)

        return endpoint

    return wrap


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise FakeJiraError(400, ["The request body is not valid JSON."]) from None
    if not isinstance(data, dict):
        raise FakeJiraError(400, ["The request body must be a JSON object."])
    return data


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise FakeJiraError(
            400, [f"The parameter '{name}' must be a number."]
        ) from None


def _list(value: Any) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _status(project: dict[str, Any]) -> str:
    """Return the project status ``/project/search`` filters on."""
    return "archived" if project.get("archived") is not None else "live"


def build_routes(fake: JiraFake) -> list[Route]:
    """Return every endpoint of ``fake``."""
    site, issues, worklogs = fake.site, fake.issues, fake.worklogs

    @_json()
    async def myself(request: Request) -> Any:
        return site.user_json(site.users[request.state.account_id])

    @_json()
    async def server_info(request: Request) -> Any:
        return {
            "baseUrl": site.base_url,
            "deploymentType": "Cloud",
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "buildNumber": 100266,
            "serverTime": site.now_text(),
            "serverTitle": "Jira",
            "scmInfo": "fake",
        }

    @_json()
    async def fields(request: Request) -> Any:
        return fake.field_list()

    @_json()
    async def project_search(request: Request) -> Any:
        start, size = (
            _int(request, "startAt", 0),
            min(_int(request, "maxResults", 50), 100),
        )
        wanted = _list(request.query_params.getlist("keys") or None)
        statuses = _list(request.query_params.getlist("status") or None) or ["live"]
        projects = [
            site.project_json(p)
            for p in site.projects.values()
            if (not wanted or p["key"] in wanted) and _status(p) in statuses
        ]
        page = projects[start : start + size]
        body = {
            "self": f"{site.base_url}{request.url.path}?startAt={start}",
            "startAt": start,
            "maxResults": size,
            "total": len(projects),
            "isLast": start + size >= len(projects),
            "values": page,
        }
        if not body["isLast"]:
            body["nextPage"] = (
                f"{site.base_url}{API}/project/search?"
                f"startAt={start + size}&maxResults={size}"
            )
        return body

    @_json()
    async def project_get(request: Request) -> Any:
        return site.project_json(site.project(request.path_params["key"]))

    @_json(201)
    async def project_create(request: Request) -> Any:
        return site.create_project(await _body(request))

    @_json()
    async def project_update(request: Request) -> Any:
        return site.update_project(request.path_params["key"], await _body(request))

    @_json()
    async def project_archive(request: Request) -> Any:
        site.archive_project(request.path_params["key"], request.state.account_id)
        return Response(status_code=204)

    @_json()
    async def project_roles(request: Request) -> Any:
        return site.role_urls(request.path_params["key"])

    @_json()
    async def role_get(request: Request) -> Any:
        project = site.project(request.path_params["key"])
        return site.role_json(project, request.path_params["role_id"])

    @_json()
    async def role_add(request: Request) -> Any:
        body = await _body(request)
        return site.add_role_actors(
            request.path_params["key"],
            request.path_params["role_id"],
            list(body.get("user", [])),
        )

    @_json(201)
    async def version_create(request: Request) -> Any:
        return site.create_version(await _body(request))

    @_json()
    async def project_versions(request: Request) -> Any:
        return site.project_versions(request.path_params["key"])

    @_json()
    async def version_get(request: Request) -> Any:
        return dict(site.version(request.path_params["id"]))

    @_json()
    async def version_update(request: Request) -> Any:
        return site.update_version(request.path_params["id"], await _body(request))

    @_json(201)
    async def issue_create(request: Request) -> Any:
        created = issues.create(await _body(request))
        fake.emit_issue("jira:issue_created", created["id"])
        return created

    @_json()
    async def issue_bulk(request: Request) -> Any:
        items = (await _body(request)).get("issueUpdates") or []
        if len(items) > 50:
            raise FakeJiraError(
                400, ["You can create at most 50 issues in one request."]
            )
        status, result = issues.create_many(items)
        for created in result["issues"]:
            fake.emit_issue("jira:issue_created", created["id"])
        return JSONResponse(result, status_code=status)

    @_json()
    async def issue_bulkfetch(request: Request) -> Any:
        body = await _body(request)
        refs = body.get("issueIdsOrKeys")
        if not isinstance(refs, list):
            raise FakeJiraError(400, ["issueIdsOrKeys is required."])
        return issues.bulk_fetch([str(r) for r in refs], _list(body.get("fields")))

    @_json()
    async def issue_get(request: Request) -> Any:
        wanted = _list(request.query_params.get("fields")) or ["*all"]
        return issues.render(issues.get(request.path_params["key"]), wanted)

    @_json()
    async def issue_edit(request: Request) -> Any:
        issue = issues.edit(request.path_params["key"], await _body(request))
        fake.emit_issue("jira:issue_updated", issue["id"])
        if request.query_params.get("returnIssue") == "true":
            return issues.render(issue, ["*all"])
        return Response(status_code=204)

    @_json()
    async def search_jql(request: Request) -> Any:
        if request.method == "POST":
            body = await _body(request)
        else:
            params = request.query_params
            body = {
                "jql": params.get("jql", ""),
                "nextPageToken": params.get("nextPageToken"),
                "maxResults": _int(request, "maxResults", 50),
                "fields": params.getlist("fields") or None,
                "reconcileIssues": _list(params.get("reconcileIssues")) or [],
            }
        fields = [f for item in body.get("fields") or [] for f in _list(item) or []]
        return issues.search(
            str(body.get("jql") or ""),
            body.get("nextPageToken"),
            int(body.get("maxResults") or 50),
            fields or None,
            [int(i) for i in body.get("reconcileIssues") or []],
        )

    @_json(410)
    async def search_gone(request: Request) -> Any:
        return gone_body()

    @_json()
    async def user_search(request: Request) -> Any:
        found = site.search_users(request.query_params.get("query", ""))
        start, size = _int(request, "startAt", 0), _int(request, "maxResults", 50)
        return [site.user_json(u) for u in found[start : start + size]]

    @_json(201)
    async def user_create(request: Request) -> Any:
        return site.create_user(await _body(request))

    @_json()
    async def worklog_list_of_issue(request: Request) -> Any:
        return worklogs.of_issue(
            request.path_params["key"],
            _int(request, "startAt", 0),
            _int(request, "maxResults", 5000),
        )

    @_json(201)
    async def worklog_add(request: Request) -> Any:
        return worklogs.add(
            request.path_params["key"], await _body(request), request.state.account_id
        )

    @_json()
    async def worklog_updated(request: Request) -> Any:
        return worklogs.feed(
            _int(request, "since", 0), deleted=False, path=request.url.path
        )

    @_json()
    async def worklog_deleted(request: Request) -> Any:
        return worklogs.feed(
            _int(request, "since", 0), deleted=True, path=request.url.path
        )

    @_json()
    async def worklog_by_ids(request: Request) -> Any:
        ids = (await _body(request)).get("ids")
        if not isinstance(ids, list):
            raise FakeJiraError(400, ["ids is required."])
        return worklogs.by_ids([int(i) for i in ids])

    return [
        Route(f"{API}/myself", myself),
        Route(f"{API}/serverInfo", server_info),
        Route(f"{API}/field", fields),
        Route(f"{API}/project/search", project_search),
        Route(f"{API}/project", project_create, methods=["POST"]),
        Route(f"{API}/project/{{key}}", project_get),
        Route(f"{API}/project/{{key}}", project_update, methods=["PUT"]),
        Route(f"{API}/project/{{key}}/archive", project_archive, methods=["POST"]),
        Route(f"{API}/project/{{key}}/role", project_roles),
        Route(f"{API}/project/{{key}}/role/{{role_id}}", role_get),
        Route(f"{API}/project/{{key}}/role/{{role_id}}", role_add, methods=["POST"]),
        Route(f"{API}/project/{{key}}/versions", project_versions),
        Route(f"{API}/version", version_create, methods=["POST"]),
        Route(f"{API}/version/{{id}}", version_get),
        Route(f"{API}/version/{{id}}", version_update, methods=["PUT"]),
        Route(f"{API}/issue", issue_create, methods=["POST"]),
        Route(f"{API}/issue/bulk", issue_bulk, methods=["POST"]),
        Route(f"{API}/issue/bulkfetch", issue_bulkfetch, methods=["POST"]),
        Route(f"{API}/issue/{{key}}", issue_get),
        Route(f"{API}/issue/{{key}}", issue_edit, methods=["PUT"]),
        Route(f"{API}/issue/{{key}}/worklog", worklog_list_of_issue),
        Route(f"{API}/issue/{{key}}/worklog", worklog_add, methods=["POST"]),
        Route(f"{API}/search/jql", search_jql, methods=["GET", "POST"]),
        Route(f"{API}/search", search_gone, methods=["GET", "POST"]),
        Route(f"{API}/user", user_create, methods=["POST"]),
        Route(f"{API}/user/search", user_search),
        Route(f"{API}/worklog/updated", worklog_updated),
        Route(f"{API}/worklog/deleted", worklog_deleted),
        Route(f"{API}/worklog/list", worklog_by_ids, methods=["POST"]),
    ]
