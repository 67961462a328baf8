"""A fake Jira Cloud site for tests and demos.

Example:
    >>> fake = factory(clock=VirtualClock(), seed=1)  # doctest: +SKIP
    >>> email, token = fake.add_api_user("me@example.com", "Me")
"""

from __future__ import annotations

from typing import Any

from servicesync import Clock

from servicesync_jira.fake._errors import FakeJiraError
from servicesync_jira.fake._service import JiraFake
from servicesync_jira.fake._state import FakeUser
from servicesync_jira.fake._webhooks import DELIVERY_HEADER

__all__ = ["DELIVERY_HEADER", "FakeJiraError", "FakeUser", "JiraFake", "factory"]


def factory(
    *, clock: Clock | None = None, seed: int | None = None, **options: Any
) -> JiraFake:
    """Build a fake site with one API user ``admin@example.com`` ready to call it."""
    fake = JiraFake(clock=clock, seed=seed, **options)
    fake.add_api_user("admin@example.com", "Site Admin")
    return fake
