"""What the Jira tests share besides fixtures: the connector factory and its type."""

from __future__ import annotations

from collections.abc import Callable

from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync_jira import JiraConfig, JiraConnector
from servicesync_jira.fake import JiraFake
from servicesync_sdk.testing import MemoryPluginState, MemoryVault

#: The ``make`` fixture: builds a connector, settings overridden by keyword.
ConnectorFactory = Callable[..., JiraConnector]


def make_connector(
    fake: JiraFake, clock: VirtualClock, state: MemoryPluginState, **config: object
) -> JiraConnector:
    """Build a connector that reaches ``fake`` in process."""
    settings: dict[str, object] = {
        "site_url": fake.base_url,
        "email": "bot@acme.test",
        "api_token": "bot-token-123456",
        "webhook_secret": "hook-secret-abc",
        **config,
    }
    context = ConnectorContext(
        connection="jira-test",
        clock=clock,
        credentials=MemoryVault(),
        state=state,
        transport=fake.transport(),
    )
    return JiraConnector(JiraConfig.model_validate(settings), context)
