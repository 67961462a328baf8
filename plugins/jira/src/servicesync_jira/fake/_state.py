"""The fake site's data: users, projects, roles and versions."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from servicesync import Clock

from servicesync_jira._timefmt import format_jira_time
from servicesync_jira.fake._errors import FakeJiraError

__all__ = ["FakeUser", "SiteState"]

_KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")

_ISSUE_TYPES = [
    {"id": "10001", "name": "Task", "subtask": False, "hierarchyLevel": 0},
    {"id": "10002", "name": "Epic", "subtask": False, "hierarchyLevel": 1},
    {"id": "10003", "name": "Subtask", "subtask": True, "hierarchyLevel": -1},
]
_ROLES = {"10002": "Administrators", "10100": "Member", "10101": "Viewer"}

# The fields of ``UpdateProjectDetails`` the fake applies, and those it takes
# without modelling them (schemes, avatars, categories, key changes).
_UPDATABLE = ("name", "description", "leadAccountId", "url", "assigneeType")
_ACCEPTED = frozenset(
    {
        *_UPDATABLE,
        "avatarId",
        "categoryId",
        "issueSecurityScheme",
        "key",
        "lead",
        "notificationScheme",
        "permissionScheme",
        "releasedProjectKeys",
    }
)


# The fields of ``Version`` an update applies, and those it takes without
# modelling them (``expand`` asks for more of the answer; moving unfixed
# issues happens on release, which the fake does not model).
_VERSION_UPDATABLE = frozenset(
    {"name", "description", "startDate", "releaseDate", "archived", "released"}
)
_VERSION_IGNORED = frozenset({"expand", "moveUnfixedIssuesTo", "project", "id", "self"})


def _set_or_clear(version: dict[str, Any], name: str, value: Any) -> None:
    """Set a date of a version, or remove it when ``value`` is empty."""
    if value:
        version[name] = str(value)
    else:
        version.pop(name, None)


@dataclass
class FakeUser:
    """A user of the fake site.

    Attributes:
        email_visible: false when the user's profile hides the address, so
            a search by email finds nobody and the record has no address.
    """

    account_id: str
    email: str
    display_name: str
    email_visible: bool = True
    active: bool = True


@dataclass
class SiteState:
    """Everything the fake site stores, with the rules Jira applies to it."""

    clock: Clock
    base_url: str = "https://fake.atlassian.net"
    users: dict[str, FakeUser] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_actors: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10000))

    def next_id(self) -> str:
        """Return a fresh numeric id as a string."""
        return str(next(self._ids))

    def now_text(self) -> str:
        """Return the clock's time in Jira's format."""
        return format_jira_time(self.clock.now())

    # Users ------------------------------------------------------------

    def add_user(
        self, email: str, display_name: str, *, email_visible: bool = True
    ) -> FakeUser:
        """Create a user and return it."""
        user = FakeUser(
            f"5b10a2844c2016570{len(self.users):07d}",
            email,
            display_name,
            email_visible,
        )
        self.users[user.account_id] = user
        return user

    def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a user from a ``NewUserDetails`` body, as an administrator does.

        An address already in use answers with that user, as Jira does for a
        user who exists and has access; so creating is safe to repeat.
        """
        email = str(body.get("emailAddress") or "").strip()
        if not email or "@" not in email:
            raise FakeJiraError(400, errors={"emailAddress": "An address is required."})
        if not isinstance(body.get("products"), list):
            raise FakeJiraError(400, errors={"products": "The products are required."})
        for user in self.users.values():
            if user.email.lower() == email.lower():
                return self.user_json(user)
        name = str(body.get("displayName") or email.partition("@")[0])
        return self.user_json(self.add_user(email, name))

    def user_json(self, user: FakeUser) -> dict[str, Any]:
        """Return a user as the API shows it, honouring email privacy."""
        body: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/3/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "accountType": "atlassian",
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": "Etc/UTC",
        }
        if user.email_visible:
            body["emailAddress"] = user.email
        return body

    def search_users(self, query: str) -> list[FakeUser]:
        """Find users whose visible email or display name starts with ``query``."""
        wanted = query.strip().lower()
        found = []
        for user in self.users.values():
            names = [user.display_name.lower()]
            if user.email_visible:
                names.append(user.email.lower())
            if wanted and any(n.startswith(wanted) for n in names):
                found.append(user)
        return found

    # Projects ---------------------------------------------------------

    def create_project(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a project from a ``CreateProjectDetails`` body."""
        key = str(body.get("key", ""))
        errors: dict[str, str] = {}
        if not _KEY_PATTERN.match(key):
            errors["projectKey"] = (
                "Project keys must start with an uppercase letter, followed by "
                "one or more uppercase alphanumeric characters."
            )
        elif key in self.projects:
            errors["projectKey"] = f"Project '{key}' uses this project key."
        if not body.get("name"):
            errors["projectName"] = "You must specify a valid project name."
        elif any(p["name"] == body["name"] for p in self.projects.values()):
            errors["projectName"] = "A project with that name already exists."
        if body.get("leadAccountId") not in self.users:
            errors["projectLead"] = "You must specify a valid project lead."
        if errors:
            raise FakeJiraError(400, errors=errors)
        project_id = self.next_id()
        self.projects[key] = {
            "id": project_id,
            "key": key,
            "name": body["name"],
            "description": body.get("description", ""),
            "projectTypeKey": body.get("projectTypeKey", "software"),
            "lead": body["leadAccountId"],
            "created": self.clock.now(),
            "archived": None,
        }
        return {
            "id": int(project_id),
            "key": key,
            "self": f"{self.base_url}/rest/api/3/project/{project_id}",
        }

    def project(self, id_or_key: str) -> dict[str, Any]:
        """Return the stored project by id or key.

        Raises:
            FakeJiraError: 404 when there is none.
        """
        for project in self.projects.values():
            if id_or_key in (project["key"], project["id"]):
                return project
        raise FakeJiraError(404, [f"No project could be found with key '{id_or_key}'."])

    def update_project(self, id_or_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change a project from an ``UpdateProjectDetails`` body.

        Fields outside that schema are refused, as Jira refuses them; those
        it lists but the fake does not model are accepted and change nothing.
        """
        project = self.project(id_or_key)
        unknown = sorted(set(body) - _ACCEPTED)
        if unknown:
            raise FakeJiraError(400, [f"Unrecognized field {unknown[0]!r}."])
        errors: dict[str, str] = {}
        name = body.get("name")
        if name is not None and any(
            p["name"] == name and p is not project for p in self.projects.values()
        ):
            errors["projectName"] = "A project with that name already exists."
        lead = body.get("leadAccountId")
        if lead is not None and lead not in self.users:
            errors["projectLead"] = "You must specify a valid project lead."
        if errors:
            raise FakeJiraError(400, errors=errors)
        for field_name in _UPDATABLE:
            if field_name in body:
                stored = "lead" if field_name == "leadAccountId" else field_name
                project[stored] = body[field_name]
        return self.project_json(project)

    def archive_project(self, id_or_key: str, account_id: str) -> None:
        """Archive a project: kept whole, flagged, and left out of searches.

        The description does not say what archiving an archived project
        answers; the fake refuses it with a 400, the answer it documents for
        a request that is not valid.
        """
        project = self.project(id_or_key)
        if project.get("archived") is not None:
            msg = f"The project '{project['key']}' is already archived."
            raise FakeJiraError(400, [msg])
        project["archived"] = (self.clock.now(), account_id)

    def project_json(self, project: dict[str, Any]) -> dict[str, Any]:
        """Return a project as ``GET /project/{key}`` shows it."""
        roles = {
            name: f"{self.base_url}/rest/api/3/project/{project['id']}/role/{rid}"
            for rid, name in _ROLES.items()
        }
        body: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/3/project/{project['id']}",
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "description": project["description"],
            "projectTypeKey": project["projectTypeKey"],
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "lead": self.user_json(self.users[project["lead"]]),
            "issueTypes": [dict(t) for t in _ISSUE_TYPES],
            "roles": roles,
        }
        for optional in ("url", "assigneeType"):
            if project.get(optional) is not None:
                body[optional] = project[optional]
        if project.get("archived") is not None:
            when, who = project["archived"]
            body["archived"] = True
            body["archivedDate"] = format_jira_time(when)
            body["archivedBy"] = self.user_json(self.users[who])
        return body

    # Roles ------------------------------------------------------------

    def role_urls(self, id_or_key: str) -> dict[str, str]:
        """Return the project's role names and their addresses."""
        return self.project_json(self.project(id_or_key))["roles"]  # type: ignore[no-any-return]

    def add_role_actors(
        self, id_or_key: str, role_id: str, account_ids: list[str]
    ) -> dict[str, Any]:
        """Add users to a project role; unknown users fail the whole call."""
        project = self.project(id_or_key)
        if role_id not in _ROLES:
            raise FakeJiraError(404, [f"No project role with id '{role_id}'."])
        unknown = [a for a in account_ids if a not in self.users]
        if unknown:
            msg = f"We couldn't find the user with account ID '{unknown[0]}'."
            raise FakeJiraError(400, [msg])
        actors = self.role_actors.setdefault((project["id"], role_id), [])
        actors.extend(a for a in account_ids if a not in actors)
        return self.role_json(project, role_id)

    def role_json(self, project: dict[str, Any], role_id: str) -> dict[str, Any]:
        """Return a project role with its actors."""
        actors = self.role_actors.get((project["id"], role_id), [])
        return {
            "self": f"{self.base_url}/rest/api/3/project/{project['id']}"
            f"/role/{role_id}",
            "name": _ROLES[role_id],
            "id": int(role_id),
            "actors": [
                {
                    "id": index + 1,
                    "displayName": self.users[a].display_name,
                    "type": "atlassian-user-role-actor",
                    "actorUser": {"accountId": a},
                }
                for index, a in enumerate(actors)
            ],
        }

    # Versions ---------------------------------------------------------

    def create_version(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a version from a ``Version`` body."""
        ref = str(body.get("projectId") or body.get("project") or "")
        project = self.project(ref)
        name = str(body.get("name", "")).strip()
        if not name:
            raise FakeJiraError(
                400, errors={"name": "You must specify a valid version name"}
            )
        if any(
            v["projectId"] == int(project["id"]) and v["name"] == name
            for v in self.versions.values()
        ):
            msg = "A version with this name already exists in this project."
            raise FakeJiraError(400, errors={"name": msg})
        version_id = self.next_id()
        version = {
            "self": f"{self.base_url}/rest/api/3/version/{version_id}",
            "id": version_id,
            "name": name,
            "description": body.get("description", ""),
            "archived": bool(body.get("archived", False)),
            "released": bool(body.get("released", False)),
            "projectId": int(project["id"]),
        }
        for date_field in ("startDate", "releaseDate"):
            if body.get(date_field):
                version[date_field] = body[date_field]
        self.versions[version_id] = version
        return dict(version)

    def project_versions(self, id_or_key: str) -> list[dict[str, Any]]:
        """Return a project's versions in creation order."""
        project_id = int(self.project(id_or_key)["id"])
        return [dict(v) for v in self.versions.values() if v["projectId"] == project_id]

    def version(self, version_id: str) -> dict[str, Any]:
        """Return the stored version.

        Raises:
            FakeJiraError: 404 when there is none.
        """
        version = self.versions.get(version_id)
        if version is None:
            msg = f"Could not find version for id '{version_id}'."
            raise FakeJiraError(404, [msg])
        return version

    def update_version(self, version_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Change a version from a ``Version`` body, as ``PUT /version/{id}`` does.

        Fields the schema marks read-only or not applicable to an update
        (``projectId``) are refused; the others the fake models are applied,
        and a name must stay unique within the project.
        """
        version = self.version(version_id)
        unknown = sorted(set(body) - _VERSION_UPDATABLE - _VERSION_IGNORED)
        if unknown:
            raise FakeJiraError(400, [f"Unrecognized field {unknown[0]!r}."])
        name = body.get("name")
        if name is not None:
            name = str(name).strip()
            if not name:
                msg = "You must specify a valid version name"
                raise FakeJiraError(400, errors={"name": msg})
            if any(
                v["projectId"] == version["projectId"] and v["name"] == name
                for v in self.versions.values()
                if v is not version
            ):
                msg = "A version with this name already exists in this project."
                raise FakeJiraError(400, errors={"name": msg})
            version["name"] = name
        for date_field in ("startDate", "releaseDate"):
            if date_field in body:
                _set_or_clear(version, date_field, body[date_field])
        for flag in ("archived", "released"):
            if flag in body:
                version[flag] = bool(body[flag])
        if "description" in body:
            version["description"] = str(body["description"] or "")
        return dict(version)
