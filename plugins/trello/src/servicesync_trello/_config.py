"""The Trello connector's config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from servicesync.contract import ConnectorConfig

__all__ = ["TrelloConfig"]


class TrelloConfig(ConnectorConfig):
    """How to reach Trello, where boards go, and how webhooks are checked.

    The API key names the application and the token the member it acts as;
    both travel in an ``Authorization: OAuth`` header, or as ``key`` and
    ``token`` query parameters when ``auth_in = "query"``. The
    application's secret signs Trello's webhook deliveries.
    """

    api_key: str = Field(description="The application's API key.")
    token: str = Field(description="A member's token issued to that application.")
    app_secret: str | None = Field(
        default=None, description="The application's secret; it signs webhooks."
    )
    organization: str = Field(
        description="The Workspace (id or name) boards are made and found in."
    )
    base_url: str = "https://api.trello.com/1"
    auth_in: Literal["header", "query"] = Field(
        default="header",
        description="Send key and token in an OAuth header, or as query parameters.",
    )
    template_board_id: str | None = Field(
        default=None, description="A board whose lists each new board copies."
    )
    template_keeps_cards: bool = Field(
        default=False, description="Copy the template's cards too."
    )
    member_type: Literal["normal", "admin", "observer"] = "normal"
    callback_url: str | None = Field(
        default=None, description="The webhook callback URL, exactly as registered."
    )
    board_ids: list[str] = Field(
        default_factory=list,
        description="The boards the streams read; every open board of the "
        "Workspace when empty.",
    )
    done_lists: list[str] = Field(
        default_factory=lambda: ["Done"],
        description="Names of lists whose cards count as done.",
    )
