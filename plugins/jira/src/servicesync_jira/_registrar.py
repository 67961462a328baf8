"""Jira's dynamic webhooks for an OAuth app, or an admin webhook made by hand.

An OAuth 2.0 app registers webhooks with ``POST /rest/api/3/webhook``: one
URL per app, each webhook naming its events and a JQL filter (Jira allows
only ``=``, ``!=``, ``IN`` and ``NOT IN`` on a few fields there). Jira signs
their deliveries with a JWT under the app's client secret, which the
connection's ``client_secret`` must hold. They expire after 30 days unless
``PUT /rest/api/3/webhook/refresh`` extends them.

Only apps may use those routes. A connection by API token gets the steps to
create an admin webhook in Jira's settings instead, signed with a secret the
administrator sets there and the connection's ``webhook_secret`` holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from servicesync.contract import RegisteredWebhook, WebhookRegistrar
from servicesync.errors import ConfigError, MalformedResponse

from servicesync_jira._client import API
from servicesync_jira._errors import raise_for_status
from servicesync_jira._timefmt import parse_jira_time

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = ["EVENTS", "JiraWebhookRegistrar"]

logger = logging.getLogger(__name__)

#: The events whose issues the streams read again.
EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
_PAGE = 100
_MAX_PAGES = 100

_ADMIN_STEPS = """\
In Jira ({site}), as an administrator:
1. Open Settings (the gear) > System > WebHooks, under Advanced, and create
   a webhook.
2. URL: {url}
3. Secret: enter a long random value, or let Jira generate one; keep it for
   step 6.
4. Events: under Issue, select created, updated and deleted. A JQL filter
   may narrow them to the projects servicesync works in.
5. Save.
6. Put the secret in the config, as
   [connections.{connection}.settings]
   webhook_secret = "${{JIRA_WEBHOOK_SECRET}}"
   and set JIRA_WEBHOOK_SECRET in the daemon's environment (or write the
   secret there directly). Jira signs each delivery with it
   (X-Hub-Signature); a delivery signed otherwise is refused.
7. Restart the daemon so it reads the secret."""


class JiraWebhookRegistrar(WebhookRegistrar):
    """Registers, lists, renews and removes an OAuth app's dynamic webhooks."""

    def __init__(self, connector: JiraConnector) -> None:
        self.client = connector.client
        self.config = connector.config
        self.connection = connector.context.connection

    @property
    def by_app(self) -> bool:
        """Whether the connection acts as an OAuth app, which may register."""
        return bool(self.config.access_token and self.config.cloud_id)

    def manual_steps(self, url: str) -> str | None:
        """The admin-webhook steps, for a connection by API token."""
        if self.by_app:
            return None
        site = str(self.config.site_url or self.config.base_url)
        return _ADMIN_STEPS.format(site=site, url=url, connection=self.connection)

    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        """Register one webhook for the issue events, unless one posts to ``url``.

        Raises:
            ConfigError: the app's ``client_secret`` is missing (deliveries
                could not be checked), there is no JQL filter to use, or
                Jira refused the filter.
        """
        self._check_client_secret()
        jql = self._jql()
        present = [hook for hook in await self.webhooks() if hook.url == url]
        if present:
            return present
        body = {"url": url, "webhooks": [{"events": list(EVENTS), "jqlFilter": jql}]}
        response = await self.client.post(f"{API}/webhook", json=body)
        raise_for_status(response, "register a webhook")
        created = self._created(self.client.json(response))
        return [hook for hook in await self.webhooks() if hook.external_id in created]

    async def webhooks(self) -> Sequence[RegisteredWebhook]:
        """The app's dynamic webhooks, read page by page."""
        found: list[RegisteredWebhook] = []
        for page in range(_MAX_PAGES):
            params = {"startAt": page * _PAGE, "maxResults": _PAGE}
            response = await self.client.get(f"{API}/webhook", params=params)
            raise_for_status(response, "list webhooks")
            body = self.client.json(response)
            found += [_webhook(item) for item in body.get("values") or []]
            if body.get("isLast", True):
                break
        return found

    async def refresh(
        self, webhooks: Sequence[RegisteredWebhook]
    ) -> Sequence[RegisteredWebhook]:
        """Extend ``webhooks`` by 30 days; return those Jira still holds.

        Jira ignores ids it does not know, so the webhooks are read back to
        tell which were renewed.
        """
        ids = [int(hook.external_id) for hook in webhooks]
        response = await self.client.put(
            f"{API}/webhook/refresh", json={"webhookIds": ids}
        )
        raise_for_status(response, "refresh webhooks")
        wanted = {hook.external_id for hook in webhooks}
        return [hook for hook in await self.webhooks() if hook.external_id in wanted]

    async def remove(self, webhook: RegisteredWebhook) -> None:
        """Delete one dynamic webhook; Jira ignores an id already gone."""
        body = {"webhookIds": [int(webhook.external_id)]}
        response = await self.client.delete(f"{API}/webhook", json=body)
        raise_for_status(response, "delete a webhook")

    def _created(self, body: Any) -> set[str]:
        results = (
            body.get("webhookRegistrationResult") if isinstance(body, dict) else None
        )
        if not isinstance(results, list):
            raise MalformedResponse(
                "Jira's answer to registering a webhook has no results.",
                service="jira",
                endpoint=f"{API}/webhook",
            )
        errors = [str(e) for r in results for e in (r.get("errors") or [])]
        if errors:
            msg = (
                f"Jira refused the webhook: {'; '.join(errors)} Webhook filters "
                "take only =, !=, IN and NOT IN on a few fields, such as "
                "project IN (ACME, GLOBEX)."
            )
            raise ConfigError(msg, key=self._key("webhook_jql"))
        return {str(r["createdWebhookId"]) for r in results if "createdWebhookId" in r}

    def _jql(self) -> str:
        if self.config.webhook_jql:
            return self.config.webhook_jql
        if self.config.mode == "epic" and self.config.shared_project_key:
            return f"project = {self.config.shared_project_key}"
        msg = (
            "Jira's dynamic webhooks need a JQL filter, and no filter there "
            "can say 'every project'. Name the projects servicesync works in, "
            'such as webhook_jql = "project IN (ACME, GLOBEX)".'
        )
        raise ConfigError(msg, key=self._key("webhook_jql"))

    def _check_client_secret(self) -> None:
        if self.config.client_secret:
            return
        msg = (
            "Jira signs an app's webhook deliveries with the app's client "
            "secret, and none is set, so every delivery would be refused. Set "
            "it, then register again."
        )
        raise ConfigError(msg, key=self._key("client_secret"))

    def _key(self, name: str) -> str:
        return f"connections.{self.connection}.settings.{name}"


def _webhook(item: dict[str, Any]) -> RegisteredWebhook:
    """Read one ``Webhook`` of Jira's listing."""
    return RegisteredWebhook(
        str(item["id"]), str(item.get("url", "")), _expiry(item.get("expirationDate"))
    )


def _expiry(value: Any) -> datetime | None:
    """Read an expiry Jira gives as epoch milliseconds or as its date-time text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value:
        try:
            return parse_jira_time(value)
        except ValueError:
            logger.warning("A webhook's expiry %r could not be read.", value)
    return None
