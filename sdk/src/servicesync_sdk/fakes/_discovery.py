"""Finding a plugin's fake service through entry points.

A connector plugin that ships a fake declares a factory in the
``servicesync.fakes`` entry point group, named after the plugin::

    [project.entry-points."servicesync.fakes"]
    bitrix24 = "servicesync_bitrix24.fake:factory"

The factory takes keyword arguments ``clock`` and ``seed`` and returns a
:class:`~servicesync_sdk.fakes.FakeService`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Protocol

from servicesync import Clock

from servicesync_sdk.fakes._service import FakeService

__all__ = [
    "FAKES_GROUP",
    "FakeFactory",
    "FakeNotFoundError",
    "fake_factories",
    "load_fake",
]

logger = logging.getLogger(__name__)

#: The entry point group in which plugins declare their fakes.
FAKES_GROUP = "servicesync.fakes"


class FakeFactory(Protocol):
    """Builds a fake; what a ``servicesync.fakes`` entry point names."""

    def __call__(self, *, clock: Clock, seed: int | None) -> FakeService:
        """Return a new fake on ``clock`` seeded with ``seed``."""
        ...


class FakeNotFoundError(LookupError):
    """No installed plugin declares a fake under the name asked for."""


def fake_factories() -> dict[str, Callable[..., FakeService]]:
    """Return the installed fake factories by name, leaving out broken ones."""
    found: dict[str, Callable[..., FakeService]] = {}
    for ep in entry_points(group=FAKES_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:
            logger.error(
                "The fake %r (%s) could not be loaded: %s", ep.name, ep.value, exc
            )
            logger.debug("Loading the fake %r failed", ep.name, exc_info=True)
    return found


def load_fake(
    name: str,
    *,
    clock: Clock,
    seed: int | None = None,
    factories: Mapping[str, Callable[..., FakeService]] | None = None,
) -> FakeService:
    """Build the fake that plugin ``name`` declares.

    Args:
        name: the entry point name, usually the plugin's name.
        clock: the clock the fake runs on.
        seed: the seed of its random source and faults.
        factories: factories to choose from instead of the installed ones.

    Raises:
        FakeNotFoundError: no factory is declared under ``name``.
        TypeError: the factory did not return a :class:`FakeService`.
    """
    available = fake_factories() if factories is None else factories
    factory = available.get(name)
    if factory is None:
        known = ", ".join(sorted(available)) or "none"
        msg = (
            f"No fake service is declared for {name!r} in the {FAKES_GROUP!r} "
            f"entry points (installed: {known}). Install the plugin that ships it."
        )
        raise FakeNotFoundError(msg)
    fake = factory(clock=clock, seed=seed)
    if not isinstance(fake, FakeService):
        msg = (
            f"The fake factory for {name!r} returned "
            f"{type(fake).__name__}, not a FakeService."
        )
        raise TypeError(msg)
    return fake
