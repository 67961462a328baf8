"""The Jira connector's config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from servicesync.contract import ConnectorConfig

__all__ = ["JiraConfig"]

_OAUTH_BASE = "https://api.atlassian.com/ex/jira/{cloud_id}"


class JiraConfig(ConnectorConfig):
    """How to reach one Jira Cloud site and how to lay out delivery work there.

    Either ``site_url`` with ``email`` and ``api_token`` (basic auth), or an
    OAuth ``access_token`` with the site's ``cloud_id`` (requests then go to
    ``https://api.atlassian.com/ex/jira/{cloud_id}``).
    """

    site_url: str | None = Field(
        default=None, description="Such as https://acme.atlassian.net."
    )
    email: str | None = None
    api_token: str | None = None
    access_token: str | None = Field(
        default=None, description="An OAuth 2.0 (3LO) access token."
    )
    cloud_id: str | None = None
    client_secret: str | None = Field(
        default=None,
        description="The OAuth app's secret; dynamic webhooks are signed with it.",
    )
    webhook_secret: str | None = Field(
        default=None, description="The admin webhook's secret (X-Hub-Signature)."
    )
    webhook_jql: str | None = Field(
        default=None,
        description="The JQL filter of the dynamic webhooks an OAuth app "
        "registers; epic mode defaults to the shared project.",
    )
    mode: Literal["project", "epic"] = Field(
        default="project",
        description="A project per deal, or an epic per deal in one project.",
    )
    milestones_as: Literal["versions", "epics"] = "versions"
    template_key: str = "com.pyxis.greenhopper.jira:gh-simplified-kanban-classic"
    project_type_key: Literal["software", "business", "service_desk"] = "software"
    shared_project_key: str | None = Field(
        default=None, description="The project epic mode puts every deal in."
    )
    lead_account_id: str | None = None
    member_role: str = Field(
        default="Member", description="The role the team is given."
    )
    search_settle_seconds: float = Field(
        default=60.0,
        description="How far behind now an issue window ends, for index lag.",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> JiraConfig:
        basic = self.site_url and self.email and self.api_token
        oauth = self.access_token and self.cloud_id
        if not (basic or oauth):
            msg = (
                "A Jira connection needs site_url, email and api_token, "
                "or access_token and cloud_id."
            )
            raise ValueError(msg)
        if self.mode == "epic" and not self.shared_project_key:
            raise ValueError(
                "Epic mode needs shared_project_key, the project to work in."
            )
        return self

    @property
    def base_url(self) -> str:
        """The root every API path is joined to."""
        if self.access_token and self.cloud_id:
            return _OAUTH_BASE.format(cloud_id=self.cloud_id)
        return str(self.site_url).rstrip("/")
