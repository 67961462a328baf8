"""Building the HTTP client a Jira connection uses."""

from __future__ import annotations

import httpx
from servicesync.contract import ConnectorContext
from servicesync.redaction import Redactor
from servicesync_sdk.http import RetryPolicy, ServiceClient, jira_slow_down

from servicesync_jira._config import JiraConfig

__all__ = ["API", "build_client"]

API = "/rest/api/3"


def build_client(config: JiraConfig, context: ConnectorContext) -> ServiceClient:
    """Return a client for ``config`` that honours Jira's 429s and 503s."""
    secrets = [s for s in (config.api_token, config.access_token) if s]
    auth: httpx.Auth | None = None
    headers = {"Accept": "application/json"}
    if config.access_token and config.cloud_id:
        headers["Authorization"] = f"Bearer {config.access_token}"
    else:
        auth = httpx.BasicAuth(str(config.email), str(config.api_token))
    return ServiceClient(
        config.base_url,
        clock=context.clock,
        service="jira",
        transport=context.transport,
        headers=headers,
        auth=auth,
        redactor=Redactor(secrets),
        retry=RetryPolicy(max_attempts=6, max_elapsed=600.0),
        slow_down=jira_slow_down,
    )
