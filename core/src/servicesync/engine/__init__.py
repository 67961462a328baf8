"""The sync engine: connections into the store, events out to plugins and flows.

:class:`Engine` builds each configured connection's connector, runs its
streams into the store (:class:`StreamRunner`), and hands the domain events
the runs wrote to their consumers through the outbox (:class:`Dispatcher`):
plugins implementing the matching hook, and the flows of the config, such as
:class:`WonDealFlow`.

The deal fields a CRM connector's ``map_record`` returns are those of
:class:`DealFields`.
"""

from __future__ import annotations

from servicesync.engine._actions import perform
from servicesync.engine._delivery_view import (
    DeliveryItem,
    DeliveryView,
    MilestoneView,
    ProjectView,
    project_view,
)
from servicesync.engine._engine import Engine, SyncReport
from servicesync.engine._failpoints import FAILPOINTS, failpoint
from servicesync.engine._link import (
    LinkOutcome,
    LinkRefused,
    ProjectReader,
    link_project,
)
from servicesync.engine._mapping import DealFields
from servicesync.engine._outbox import Dispatcher, replay
from servicesync.engine._quarantine import RetryReport, retry_quarantined
from servicesync.engine._renewal import Renewal, renew_webhooks
from servicesync.engine._runner import StreamCounts, StreamRunner
from servicesync.engine._team import Candidate, RoleNeed, TeamChoice, choose_team
from servicesync.engine._webhooks import take_delivery
from servicesync.engine._won_deal import WonDealFlow

__all__ = [
    "FAILPOINTS",
    "Candidate",
    "DealFields",
    "DeliveryItem",
    "DeliveryView",
    "Dispatcher",
    "Engine",
    "LinkOutcome",
    "LinkRefused",
    "MilestoneView",
    "ProjectReader",
    "ProjectView",
    "Renewal",
    "RetryReport",
    "RoleNeed",
    "StreamCounts",
    "StreamRunner",
    "SyncReport",
    "TeamChoice",
    "WonDealFlow",
    "choose_team",
    "failpoint",
    "link_project",
    "perform",
    "project_view",
    "renew_webhooks",
    "replay",
    "retry_quarantined",
    "take_delivery",
]
