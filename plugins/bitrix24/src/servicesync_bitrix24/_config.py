"""The configuration of one Bitrix24 connection."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator
from servicesync.contract import ConnectorConfig

__all__ = ["Bitrix24Config"]

_WEBHOOK = re.compile(r"^(https?://[^/]+)/rest/(\d+)/([^/]+)/?$")


class Bitrix24Config(ConnectorConfig):
    """How to reach one portal: an incoming webhook or an OAuth application."""

    portal_url: str = Field(
        description="The portal's address, https://NAME.bitrix24.com."
    )
    webhook_url: str | None = Field(
        default=None, description="Incoming webhook URL: PORTAL/rest/USER_ID/CODE/."
    )
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    refresh_token: str | None = Field(
        default=None,
        description="The first refresh token; later ones live in the vault.",
    )
    oauth_server_url: str = "https://oauth.bitrix.info/oauth/token/"
    plan: Literal["standard", "enterprise"] = "standard"
    application_token: str | None = Field(
        default=None, description="Token event deliveries must carry."
    )
    events: Literal["webhook", "offline"] = Field(
        default="webhook",
        description=(
            "How changes are learned besides polling: 'webhook', posted to the "
            "daemon; 'offline', fetched from the portal's offline event queue "
            "at each sync (an administrator's OAuth application only)."
        ),
    )
    skew_seconds: float = Field(default=300.0, description="Overlap of read windows.")
    deletion_scan_seconds: float = Field(
        default=86400.0, description="How often deals are scanned for deletions."
    )
    project_link_field: str = "UF_CRM_SERVICESYNC_PROJECT"
    project_status_field: str = "UF_CRM_SERVICESYNC_STATUS"
    project_progress_field: str = "UF_CRM_SERVICESYNC_PROGRESS"

    @model_validator(mode="after")
    def _one_way_in(self) -> Bitrix24Config:
        if self.webhook_url:
            if not _WEBHOOK.match(self.webhook_url):
                msg = "webhook_url must look like https://PORTAL/rest/USER_ID/CODE/."
                raise ValueError(msg)
        elif not (self.client_id and self.client_secret and self.refresh_token):
            msg = (
                "Give either webhook_url or client_id, client_secret and "
                "refresh_token for OAuth."
            )
            raise ValueError(msg)
        return self

    @property
    def rest_base(self) -> str:
        """The URL methods are appended to."""
        if self.webhook_url:
            return self.webhook_url.rstrip("/") + "/"
        return self.portal_url.rstrip("/") + "/rest/"

    @property
    def uses_oauth(self) -> bool:
        """Whether calls carry an OAuth access token."""
        return not self.webhook_url
