"""Trello connector for servicesync."""

from __future__ import annotations

from servicesync_trello._actions_board import (
    AddTeam,
    AddTeamParams,
    CreateMilestone,
    CreateMilestoneParams,
    CreateProject,
    CreateProjectParams,
)
from servicesync_trello._actions_cards import CreateTasks, CreateTasksParams, TaskSpec
from servicesync_trello._actions_update import (
    UpdateMilestone,
    UpdateMilestoneParams,
    UpdateProject,
    UpdateProjectParams,
)
from servicesync_trello._client import KEY_LIMIT, TOKEN_LIMIT, TrelloAuth
from servicesync_trello._config import TrelloConfig
from servicesync_trello._connector import TrelloConnector
from servicesync_trello._progress import (
    CardStatus,
    Progress,
    card_status,
    milestone_progress,
)
from servicesync_trello._streams import (
    BATCH_SIZE,
    BoardsStream,
    CardsStream,
    ListsStream,
)
from servicesync_trello._webhooks import SIGNATURE_HEADER, TrelloWebhookHandler

__all__ = [
    "BATCH_SIZE",
    "KEY_LIMIT",
    "SIGNATURE_HEADER",
    "TOKEN_LIMIT",
    "AddTeam",
    "AddTeamParams",
    "BoardsStream",
    "CardStatus",
    "CardsStream",
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateProject",
    "CreateProjectParams",
    "CreateTasks",
    "CreateTasksParams",
    "ListsStream",
    "Progress",
    "TaskSpec",
    "TrelloAuth",
    "TrelloConfig",
    "TrelloConnector",
    "TrelloWebhookHandler",
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
    "card_status",
    "milestone_progress",
]
