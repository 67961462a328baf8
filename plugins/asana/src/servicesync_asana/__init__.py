"""Asana connector for servicesync."""

from __future__ import annotations

from servicesync_asana._actions_lifecycle import (
    MARK_PREFIX,
    ArchiveProject,
    MarkProject,
    MarkProjectParams,
    ProjectParams,
    UnmarkProject,
)
from servicesync_asana._actions_project import (
    AddTeam,
    AddTeamParams,
    CreateProject,
    CreateProjectParams,
)
from servicesync_asana._actions_sections import (
    CreateMilestone,
    CreateMilestoneParams,
    CreateMilestones,
    CreateMilestonesParams,
    MilestoneSpec,
)
from servicesync_asana._actions_tasks import CreateTasks, CreateTasksParams, TaskSpec
from servicesync_asana._actions_update import (
    UpdateMilestone,
    UpdateMilestoneParams,
    UpdateProject,
    UpdateProjectParams,
    project_title,
)
from servicesync_asana._config import AsanaConfig
from servicesync_asana._connector import AsanaConnector
from servicesync_asana._provision import DeliveryPlan, ProvisionResult, provision
from servicesync_asana._stream_tasks import TASK_FIELDS, TasksStream
from servicesync_asana._streams import (
    ProgressStream,
    ProjectsStream,
    section_progress,
)
from servicesync_asana._times import format_time, parse_time
from servicesync_asana._webhooks import (
    HOOK_SECRET,
    HOOK_SIGNATURE,
    AsanaWebhookHandler,
    hook_key,
)

__all__ = [
    "HOOK_SECRET",
    "HOOK_SIGNATURE",
    "MARK_PREFIX",
    "TASK_FIELDS",
    "AddTeam",
    "AddTeamParams",
    "ArchiveProject",
    "AsanaConfig",
    "AsanaConnector",
    "AsanaWebhookHandler",
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateMilestones",
    "CreateMilestonesParams",
    "CreateProject",
    "CreateProjectParams",
    "CreateTasks",
    "CreateTasksParams",
    "DeliveryPlan",
    "MarkProject",
    "MarkProjectParams",
    "MilestoneSpec",
    "ProgressStream",
    "ProjectParams",
    "ProjectsStream",
    "ProvisionResult",
    "TaskSpec",
    "TasksStream",
    "UnmarkProject",
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
    "format_time",
    "hook_key",
    "parse_time",
    "project_title",
    "provision",
    "section_progress",
]
