"""Dynamic webhooks: what OAuth 2.0 apps register through ``/rest/api/3/webhook``.

Only apps may use these routes; a caller with an API token is answered 403.
An app posts to one URL at a time (registering another while it holds
webhooks is refused with 400). Each webhook names its events and a JQL
filter in the subset Jira allows for webhooks; the fake understands
``project``, ``issueKey`` and ``issuetype`` with ``=``, ``!=``, ``IN`` and
``NOT IN``, and a clause it does not understand fails that webhook alone, in
the answer's list, as Jira reports a refused webhook.

A webhook lives 30 days on the site's clock. ``PUT /webhook/refresh``
extends the calling app's named webhooks to 30 days from now and ignores
other ids. An expired webhook stays listed but is no longer sent. Deliveries
are signed as a JWT with the client secret of the app that registered them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from servicesync_sdk.fakes import Subscription
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servicesync_jira._timefmt import format_jira_time
from servicesync_jira.fake._errors import FakeJiraError
from servicesync_jira.fake._jql import JqlQuery, parse_jql
from servicesync_jira.fake._kit import JwtAuthorization
from servicesync_jira.fake._routes import API, _body, _int, _json
from servicesync_jira.fake._webhooks import JiraWebhookScheme

if TYPE_CHECKING:
    from servicesync_jira.fake._service import JiraFake

__all__ = ["LIFETIME", "DynamicWebhook", "DynamicWebhooks", "dynamic_routes"]

#: How long a dynamic webhook is sent before it must be refreshed.
LIFETIME = timedelta(days=30)

EVENTS = frozenset(
    {
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "issue_property_set",
        "issue_property_deleted",
    }
)

_CLAUSE_FIELD = re.compile(r"(?:^|\s+and\s+)\s*([A-Za-z.\[\]0-9]+)", re.IGNORECASE)
_OPERATOR = re.compile(r"(>=|<=|>|<|~|\bis\b|\bwas\b)", re.IGNORECASE)
_UNDERSTOOD = {"project", "issuekey", "issuetype"}


@dataclass
class DynamicWebhook:
    """One webhook an app registered."""

    id: int
    app: str
    url: str
    events: list[str]
    jql: str
    query: JqlQuery
    expires: datetime
    subscription: Subscription

    def json(self) -> dict[str, Any]:
        """Return it as ``GET /webhook`` lists it."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "jqlFilter": self.jql,
            "expirationDate": format_jira_time(self.expires),
        }


class DynamicWebhooks:
    """The apps' dynamic webhooks on one fake site, and their deliveries."""

    def __init__(self, fake: JiraFake) -> None:
        self.fake = fake
        self.hooks: dict[int, DynamicWebhook] = {}
        self.receivers: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10000)

    def receive_in_process(
        self, url: str, *, app: Any = None, handler: Any = None
    ) -> None:
        """Send deliveries for ``url`` to an ASGI app or an httpx handler in process."""
        self.receivers[url] = {"app": app} if app is not None else {"handler": handler}

    def of(self, app: str) -> list[DynamicWebhook]:
        """Return the webhooks ``app`` registered, oldest first."""
        return [hook for hook in self.hooks.values() if hook.app == app]

    def register(self, app: str, body: dict[str, Any]) -> dict[str, Any]:
        """Register each webhook of ``body``; answer each one's id or errors."""
        url, items = body.get("url"), body.get("webhooks")
        if not isinstance(url, str) or not url or not isinstance(items, list):
            raise FakeJiraError(400, ["url and webhooks are required."])
        if any(hook.url != url for hook in self.of(app)):
            raise FakeJiraError(
                400, ["Only a single URL per app is allowed to be registered."]
            )
        results = [self._register_one(app, url, item) for item in items]
        return {"webhookRegistrationResult": results}

    def page(self, app: str, start: int, size: int) -> dict[str, Any]:
        """Return one page of ``app``'s webhooks, as ``PageBeanWebhook``."""
        hooks = self.of(app)
        values = [hook.json() for hook in hooks[start : start + size]]
        last = start + size >= len(hooks)
        page: dict[str, Any] = {
            "isLast": last,
            "maxResults": size,
            "startAt": start,
            "total": len(hooks),
            "values": values,
        }
        if not last:
            page["nextPage"] = (
                f"{self.fake.base_url}{API}/webhook?startAt={start + size}"
                f"&maxResults={size}"
            )
        return page

    def delete(self, app: str, ids: list[int]) -> None:
        """Remove ``app``'s webhooks among ``ids``; others are ignored."""
        for hook in self.of(app):
            if hook.id in ids:
                del self.hooks[hook.id]
                self.fake.webhooks.unsubscribe(hook.subscription)

    def refresh(self, app: str, ids: list[int]) -> dict[str, Any]:
        """Extend ``app``'s webhooks among ``ids`` to a full life from now."""
        expires = self.fake.clock.now() + LIFETIME
        for hook in self.of(app):
            if hook.id in ids:
                hook.expires = expires
        return {"expirationDate": format_jira_time(expires)}

    def announce(
        self, event: str, issue: dict[str, Any], payload: dict[str, Any]
    ) -> int:
        """Queue ``payload`` for each live webhook whose events and JQL match."""
        now, queued = self.fake.clock.now(), 0
        for hook in self.hooks.values():
            if (
                event in hook.events
                and hook.expires > now
                and hook.query.matches(issue)
            ):
                queued += self.fake.webhooks.emit(f"dynamic:{hook.id}", payload)
        return queued

    def _register_one(self, app: str, url: str, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"errors": ["A webhook must be an object."]}
        events, jql = item.get("events"), item.get("jqlFilter")
        if not isinstance(events, list) or not events or set(events) - EVENTS:
            return {"errors": [f"The events {events!r} are not all webhook events."]}
        if not isinstance(jql, str) or not jql.strip():
            return {"errors": ["jqlFilter is required."]}
        try:
            query = _webhook_query(jql)
        except FakeJiraError as exc:
            return {"errors": list(exc.body["errorMessages"])}
        hook_id = next(self._ids)
        subscription = self.fake.webhooks.subscribe(
            url,
            JiraWebhookScheme(
                JwtAuthorization(app, issuer=self.fake.cloud_id),
                self.fake._next_delivery_id,
            ),
            events=[f"dynamic:{hook_id}"],
            **self.receivers.get(url, {}),
        )
        expires = self.fake.clock.now() + LIFETIME
        self.hooks[hook_id] = DynamicWebhook(
            hook_id,
            app,
            url,
            [str(e) for e in events],
            jql,
            query,
            expires,
            subscription,
        )
        return {"createdWebhookId": hook_id}


def _webhook_query(jql: str) -> JqlQuery:
    """Parse a webhook's JQL filter, refusing what webhooks do not allow."""
    if _OPERATOR.search(jql):
        raise FakeJiraError(400, [f"The operator in '{jql}' is unsupported."])
    for name in _CLAUSE_FIELD.findall(jql):
        if name.lower() not in _UNDERSTOOD:
            raise FakeJiraError(400, [f"The clause {name} is unsupported."])
    return parse_jql(re.sub(r"\bissuekey\b", "key", jql, flags=re.IGNORECASE))


def _ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("webhookIds")
    if not isinstance(ids, list):
        raise FakeJiraError(400, ["webhookIds is required."])
    try:
        return [int(i) for i in ids]
    except (TypeError, ValueError):
        raise FakeJiraError(400, ["webhookIds must be numbers."]) from None


def _app_of(request: Request) -> str:
    app = getattr(request.state, "app", None)
    if not app:
        raise FakeJiraError(
            403, ["Only Connect and OAuth 2.0 apps can use this operation."]
        )
    return str(app)


def dynamic_routes(fake: JiraFake) -> list[Route]:
    """Return the routes of dynamic webhooks on ``fake``."""
    hooks = fake.dynamic

    @_json()
    async def register(request: Request) -> Any:
        return hooks.register(_app_of(request), await _body(request))

    @_json()
    async def listing(request: Request) -> Any:
        start, size = _int(request, "startAt", 0), _int(request, "maxResults", 100)
        return hooks.page(_app_of(request), start, size)

    @_json()
    async def delete(request: Request) -> Any:
        hooks.delete(_app_of(request), _ids(await _body(request)))
        return Response(status_code=202)

    @_json()
    async def refresh(request: Request) -> Any:
        return hooks.refresh(_app_of(request), _ids(await _body(request)))

    return [
        Route(f"{API}/webhook", register, methods=["POST"]),
        Route(f"{API}/webhook", listing, methods=["GET"]),
        Route(f"{API}/webhook", delete, methods=["DELETE"]),
        Route(f"{API}/webhook/refresh", refresh, methods=["PUT"]),
    ]
