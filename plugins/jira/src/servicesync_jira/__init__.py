"""Jira Cloud connector for servicesync."""

from __future__ import annotations

from servicesync_jira._actions_lifecycle import (
    ArchiveProject,
    MarkProject,
    MarkProjectParams,
    ProjectParams,
    UnmarkProject,
)
from servicesync_jira._actions_project import (
    AddTeam,
    AddTeamParams,
    CreateMilestone,
    CreateMilestoneParams,
    CreateProject,
    CreateProjectParams,
)
from servicesync_jira._actions_tasks import CreateTasks, CreateTasksParams, TaskSpec
from servicesync_jira._actions_update import (
    UpdateMilestone,
    UpdateMilestoneParams,
    UpdateProject,
    UpdateProjectParams,
)
from servicesync_jira._config import JiraConfig
from servicesync_jira._connector import JiraConnector
from servicesync_jira._keys import (
    dedup_token,
    issue_label,
    marker,
    project_key_candidates,
)
from servicesync_jira._projects import MARK_PREFIX
from servicesync_jira._provision import (
    DeliveryPlan,
    MilestoneSpec,
    ProvisionResult,
    provision,
)
from servicesync_jira._streams import (
    IssuesStream,
    Progress,
    ProjectsStream,
    VersionsStream,
    milestone_progress,
)
from servicesync_jira._timefmt import format_jira_time, parse_jira_time, to_epoch_ms
from servicesync_jira._webhooks import DELIVERY_HEADER, JiraWebhookHandler

__all__ = [
    "DELIVERY_HEADER",
    "MARK_PREFIX",
    "AddTeam",
    "AddTeamParams",
    "ArchiveProject",
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateProject",
    "CreateProjectParams",
    "CreateTasks",
    "CreateTasksParams",
    "DeliveryPlan",
    "IssuesStream",
    "JiraConfig",
    "JiraConnector",
    "JiraWebhookHandler",
    "MarkProject",
    "MarkProjectParams",
    "MilestoneSpec",
    "Progress",
    "ProjectParams",
    "ProjectsStream",
    "ProvisionResult",
    "TaskSpec",
    "UnmarkProject",
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
    "VersionsStream",
    "dedup_token",
    "format_jira_time",
    "issue_label",
    "marker",
    "milestone_progress",
    "parse_jira_time",
    "project_key_candidates",
    "provision",
    "to_epoch_ms",
]
