"""The fake Jira Cloud site: auth, limits, webhooks and its data."""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from servicesync import Clock
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from servicesync_jira.fake._dynamic import DynamicWebhooks, dynamic_routes
from servicesync_jira.fake._errors import error_body
from servicesync_jira.fake._issues import IssueStore
from servicesync_jira.fake._kit import (
    Decision,
    FakeService,
    FixedWindow,
    HubSignature,
    JwtAuthorization,
)
from servicesync_jira.fake._routes import build_routes
from servicesync_jira.fake._state import FakeUser, SiteState
from servicesync_jira.fake._webhooks import JiraWebhookScheme
from servicesync_jira.fake._worklogs import WorklogStore

__all__ = ["JiraFake"]

_OAUTH_PREFIX = re.compile(r"^/ex/jira/(?P<cloud>[^/]+)(?P<rest>/.*)$")
_ISSUE_WRITE = re.compile(r"^/rest/api/3/issue/(?P<key>[^/]+)(/worklog)?$")


@dataclass
class _Refusal:
    status: int
    retry_after: float | None
    reason: str
    path: str | None
    times: int


class JiraFake(FakeService):
    """A Jira Cloud site in memory, answering REST API v3 as Jira does.

    Args:
        clock: the site's clock; dates, index lag and limits follow it.
        seed: the seed of the fault plan and generated data.
        base_url: the site's address, such as ``https://acme.atlassian.net``.
        index_lag: seconds before a write shows in ``/search/jql``.
        cloud_id: the id OAuth clients put in ``/ex/jira/{cloud_id}``.
        burst_limit: requests allowed per method and route in each
            ``burst_window`` seconds; ``None`` switches the burst limit off.
        issue_write_limit: writes allowed to one issue per ``burst_window``.

    Example:
        >>> fake = JiraFake(clock=VirtualClock())  # doctest: +SKIP
        >>> email, token = fake.add_api_user("me@example.com", "Me")
    """

    name = "jira"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        base_url: str = "https://fake.atlassian.net",
        index_lag: float = 0.0,
        cloud_id: str = "11111111-2222-3333-4444-555555555555",
        burst_limit: int | None = None,
        burst_window: float = 1.0,
        issue_write_limit: int | None = 20,
    ) -> None:
        super().__init__(clock=clock, seed=seed, base_url=base_url)
        self.site = SiteState(self.clock, base_url)
        self.issues = IssueStore(self.site, index_lag)
        self.worklogs = WorklogStore(self.issues)
        self.cloud_id = cloud_id
        self.api_tokens: dict[str, tuple[str, str]] = {}
        self.oauth_tokens: dict[str, str] = {}
        #: The client secret of the app each OAuth token was issued to.
        self.token_apps: dict[str, str] = {}
        #: The client secret of the app of tokens issued without naming one;
        #: derived, not drawn, so the seeded stream of generated data is kept.
        self.app_secret = hashlib.sha256(
            f"app:{self.random_seed}:{cloud_id}".encode()
        ).hexdigest()[:32]
        self.dynamic = DynamicWebhooks(self)
        self._refusals: list[_Refusal] = []
        self._delivery_ids = itertools.count(1)
        if burst_limit is not None:
            self._add_burst_limit(burst_limit, burst_window)
        if issue_write_limit is not None:
            self._add_issue_write_limit(issue_write_limit, burst_window)

    # -- the kit's hooks -------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return [*build_routes(self), *dynamic_routes(self)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # OAuth apps reach the site through api.atlassian.com/ex/jira/{cloud};
        # the same routes answer once the prefix of this site's id is removed.
        match = _OAUTH_PREFIX.match(scope.get("path", ""))
        if scope["type"] == "http" and match and match["cloud"] == self.cloud_id:
            scope = {**scope, "path": match["rest"], "raw_path": match["rest"].encode()}
        await super().__call__(scope, receive, send)

    async def authenticate(self, request: Request) -> Response | None:
        account_id = self._account_of(request.headers.get("authorization", ""))
        if account_id is None:
            return self.error_response(
                401, "Client must be authenticated to access this resource."
            )
        request.state.account_id = account_id
        request.state.app = self._app_of(request.headers.get("authorization", ""))
        return self._planned_refusal(request.url.path)

    def credentials(self) -> dict[str, str]:
        found = {
            f"token:{email}": token for token, (email, _) in self.api_tokens.items()
        }
        found.update({f"oauth:{n}": t for n, t in enumerate(self.oauth_tokens)})
        return {"base_url": self.base_url, **found}

    def secrets(self) -> Iterable[str]:
        apps = {*self.token_apps.values(), self.app_secret}
        return [*self.api_tokens, *self.oauth_tokens, *apps]

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse(error_body([message]), status_code=status)

    # -- accounts --------------------------------------------------------

    def add_api_user(
        self, email: str, display_name: str, token: str | None = None
    ) -> tuple[str, str]:
        """Create a user with an API token; return ``(email, token)``."""
        user = self.site.add_user(email, display_name)
        token = token or f"ATATT3x{self.random.getrandbits(96):024x}"
        self.api_tokens[token] = (email, user.account_id)
        return email, token

    def add_oauth_token(
        self,
        account_id: str,
        token: str | None = None,
        *,
        client_secret: str | None = None,
    ) -> str:
        """Issue an OAuth bearer token acting as ``account_id``.

        ``client_secret`` names the app the token is issued to, whose
        dynamic webhooks are signed with it; without one the token belongs
        to the app of :attr:`app_secret`.
        """
        token = token or f"eyJfake.{self.random.getrandbits(128):032x}"
        self.oauth_tokens[token] = account_id
        self.token_apps[token] = client_secret or self.app_secret
        return token

    def add_user(
        self, email: str, display_name: str, *, email_visible: bool = True
    ) -> FakeUser:
        """Create a user who has no token (a team member)."""
        return self.site.add_user(email, display_name, email_visible=email_visible)

    def _app_of(self, header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.token_apps.get(value.strip())

    def _account_of(self, header: str) -> str | None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self.oauth_tokens.get(value.strip())
        if scheme.lower() != "basic":
            return None
        try:
            email, _, token = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        owner = self.api_tokens.get(token)
        return owner[1] if owner and owner[0] == email else None

    # -- limits ------------------------------------------------------------

    def refuse_next(
        self,
        status: int = 429,
        *,
        retry_after: float | None = 0,
        reason: str = "jira-burst-based",
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """Refuse the next ``times`` requests (to ``path``, if given).

        A 429 carries Jira's rate-limit headers; a 503 carries only
        ``Retry-After``. ``retry_after=None`` leaves the header out.
        """
        self._refusals.append(_Refusal(status, retry_after, reason, path, times))

    def fail_next_bulk(self, positions: Iterable[int], status: int = 503) -> None:
        """Make the next ``POST /issue/bulk`` fail these elements, unapplied."""
        self.issues.element_faults = {int(p): status for p in positions}

    def _planned_refusal(self, path: str) -> Response | None:
        for plan in self._refusals:
            if plan.times > 0 and (plan.path is None or plan.path == path):
                plan.times -= 1
                decision = Decision(
                    False, 100, 0, plan.retry_after or 0, plan.retry_after or 0
                )
                return self._limited(
                    plan.status, decision, plan.reason, plan.retry_after
                )
        return None

    def _limited(
        self, status: int, decision: Decision, reason: str, retry_after: float | None
    ) -> Response:
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(math.ceil(retry_after))
        if status == 429:
            reset = self.clock.now() + timedelta(seconds=decision.reset_after)
            headers.update(
                {
                    "X-RateLimit-Limit": str(int(decision.limit)),
                    "X-RateLimit-Remaining": str(max(0, int(decision.remaining))),
                    "X-RateLimit-Reset": _iso_minute(reset),
                    "RateLimit-Reason": reason,
                }
            )
            message = "Rate limit exceeded."
        else:
            message = "The service is temporarily unavailable. Please try again later."
        return JSONResponse(error_body([message]), status_code=status, headers=headers)

    def _add_burst_limit(self, limit: int, window: float) -> None:
        def reject(decision: Decision) -> Response:
            return self._limited(
                429, decision, "jira-burst-based", decision.retry_after
            )

        self.add_rate_limit(
            FixedWindow(limit=limit, seconds=window, clock=self.clock),
            reject=reject,
            key=lambda r: (r.method, self.route_of(r.scope)),
        )

    def _add_issue_write_limit(self, limit: int, window: float) -> None:
        def reject(decision: Decision) -> Response:
            return self._limited(
                429, decision, "jira-per-issue-on-write", decision.retry_after
            )

        def applies(request: Request) -> bool:
            return request.method in ("POST", "PUT") and bool(
                _ISSUE_WRITE.match(request.url.path)
            )

        def key(request: Request) -> str:
            match = _ISSUE_WRITE.match(request.url.path)
            return match["key"] if match else ""

        self.add_rate_limit(
            FixedWindow(limit=limit, seconds=window, clock=self.clock),
            reject=reject,
            key=key,
            applies=applies,
        )

    # -- webhooks ----------------------------------------------------------

    def subscribe_admin_webhook(self, url: str, secret: str, **kwargs: Any) -> Any:
        """Register an admin webhook signed with ``X-Hub-Signature``."""
        scheme = JiraWebhookScheme(HubSignature(secret), self._next_delivery_id)
        return self.webhooks.subscribe(url, scheme, **kwargs)

    def subscribe_app_webhook(self, url: str, client_secret: str, **kwargs: Any) -> Any:
        """Register an OAuth app's dynamic webhook, signed with a JWT."""
        inner = JwtAuthorization(client_secret, issuer=self.cloud_id)
        scheme = JiraWebhookScheme(inner, self._next_delivery_id)
        return self.webhooks.subscribe(url, scheme, **kwargs)

    def _next_delivery_id(self) -> str:
        return f"{self.random_seed or 0:x}-{next(self._delivery_ids):08d}"

    def emit_issue(self, event: str, issue_id: str) -> int:
        """Queue a webhook about an issue for every subscriber."""
        issue = self.issues.issues[issue_id]
        payload = {
            "timestamp": int(self.clock.now().timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": event.split(":")[-1],
            "issue": self.issues.render(issue, ["*all"]),
        }
        queued = self.webhooks.emit(event, payload)
        return queued + self.dynamic.announce(event, issue, payload)

    def transition(self, id_or_key: str, status: str) -> None:
        """Move an issue to a status as a person would in the UI."""
        issue = self.issues.transition(id_or_key, status)
        self.emit_issue("jira:issue_updated", issue["id"])

    def field_list(self) -> list[dict[str, Any]]:
        """Return the site's fields, as ``GET /field`` lists them."""
        names = {
            "summary": "Summary",
            "description": "Description",
            "labels": "Labels",
            "assignee": "Assignee",
            "duedate": "Due date",
            "fixVersions": "Fix versions",
            "status": "Status",
            "updated": "Updated",
            "created": "Created",
        }
        return [
            {
                "id": k,
                "key": k,
                "name": v,
                "custom": False,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [k],
            }
            for k, v in names.items()
        ]

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        """Load ``users`` (``email``, ``name``, ``email_visible``) directly."""
        for user in records.pop("users", ()):
            self.add_user(
                str(user["email"]),
                str(user["name"]),
                email_visible=bool(user.get("email_visible", True)),
            )
        if records:
            super().seed(**records)


def _iso_minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")
