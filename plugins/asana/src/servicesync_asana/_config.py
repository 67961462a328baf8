"""The Asana connector's config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from servicesync.contract import ConnectorConfig

__all__ = ["REQUESTS_PER_MINUTE", "AsanaConfig"]

#: Requests a token may make per minute, by plan; every ``/batch`` action counts.
REQUESTS_PER_MINUTE = {"free": 150, "paid": 1500}


class AsanaConfig(ConnectorConfig):
    """How to reach one Asana workspace and how to lay out delivery work there.

    Either ``access_token`` alone (a personal access token), or an OAuth app's
    ``client_id``, ``client_secret`` and ``refresh_token``; an OAuth
    ``access_token`` given beside them is used until it expires.
    """

    workspace: str = Field(description="The gid of the workspace to work in.")
    team: str | None = Field(
        default=None,
        description="The team new projects belong to (organizations need one).",
    )
    access_token: str | None = Field(
        default=None, description="A personal access token, or an OAuth access token."
    )
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = Field(
        default=None,
        description="The first refresh token; later ones live in the vault.",
    )
    token_url: str = "https://app.asana.com/-/oauth_token"
    base_url: str = "https://app.asana.com/api/1.0"
    plan: Literal["free", "paid"] = Field(
        default="free", description="Sets the per-minute request budget."
    )
    shared_budget: bool = Field(
        default=False,
        description=(
            "Draw the rate budget from the store, for several processes using "
            "one token; the shared limiter keeps to half the published rate."
        ),
    )
    project_template: str | None = Field(
        default=None, description="A project template to instantiate per deal."
    )
    projects: list[str] = Field(
        default_factory=list,
        description="Project gids the streams read; empty means every live one.",
    )
    page_size: int = Field(default=100, ge=1, le=100)
    reconcile_hours: float = Field(
        default=24.0,
        gt=0,
        description="How often the task stream reads by modified_since in full.",
    )
    job_poll_seconds: float = Field(default=2.0, gt=0)
    job_timeout_seconds: float = Field(default=600.0, gt=0)
    webhook_secret: str | None = Field(
        default=None,
        description="A secret to check deliveries with when none was learnt.",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> AsanaConfig:
        oauth = self.client_id and self.client_secret and self.refresh_token
        if not (self.access_token or oauth):
            msg = (
                "An Asana connection needs access_token (a personal access "
                "token), or client_id, client_secret and refresh_token."
            )
            raise ValueError(msg)
        return self

    @property
    def uses_oauth(self) -> bool:
        """Whether tokens are refreshed through the OAuth token endpoint."""
        return bool(self.client_id and self.client_secret and self.refresh_token)

    @property
    def requests_per_minute(self) -> int:
        """The plan's request budget per minute and token."""
        return REQUESTS_PER_MINUTE[self.plan]
