"""A fake Asana workspace for tests and demos.

Example:
    >>> fake = factory(clock=VirtualClock(), seed=1)  # doctest: +SKIP
    >>> fake.credentials()["token:admin@example.com"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from servicesync import Clock

from servicesync_asana.fake._errors import FakeAsanaError
from servicesync_asana.fake._hooks import FakeWebhook
from servicesync_asana.fake._records import (
    FakeProject,
    FakeSection,
    FakeTask,
    FakeTemplate,
    FakeUser,
)
from servicesync_asana.fake._service import AsanaFake
from servicesync_asana.fake._state import Workspace

__all__ = [
    "AsanaFake",
    "FakeAsanaError",
    "FakeProject",
    "FakeSection",
    "FakeTask",
    "FakeTemplate",
    "FakeUser",
    "FakeWebhook",
    "Workspace",
    "factory",
]


def factory(
    *, clock: Clock | None = None, seed: int | None = None, **options: Any
) -> AsanaFake:
    """Build a fake workspace whose user ``admin@example.com`` holds a token."""
    fake = AsanaFake(clock=clock, seed=seed, **options)
    admin = fake.add_user("admin@example.com", "Workspace Admin")
    fake.add_token(admin.gid)
    return fake
