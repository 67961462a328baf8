"""Test helpers for connector authors: fixtures and the conformance suite.

The SDK registers :mod:`servicesync_sdk.testing.plugin` with pytest, so the
fixtures ``virtual_clock``, ``memory_context`` and ``make_context`` are
available in every test. The conformance suite is enabled by subclassing
:class:`ConnectorConformance` with a :class:`ConformanceHarness`.
:func:`shared_path` finds the official API descriptions that tests read in
place, and skips (fails on CI) when they are absent.
"""

from __future__ import annotations

from servicesync_sdk.testing._conformance import ConnectorConformance
from servicesync_sdk.testing._harness import (
    ConformanceHarness,
    ConformanceKit,
    LimitWorkload,
    PublishedLimit,
)
from servicesync_sdk.testing._memory import (
    MemoryBudgets,
    MemoryLocks,
    MemoryPluginState,
    MemoryVault,
    memory_context,
)
from servicesync_sdk.testing._recorder import Recorder, StreamRun
from servicesync_sdk.testing._shared import SHARED_ENV, shared_path
from servicesync_sdk.testing._transports import ScriptedSlowDowns, SeenRequest

__all__ = [
    "SHARED_ENV",
    "ConformanceHarness",
    "ConformanceKit",
    "ConnectorConformance",
    "LimitWorkload",
    "MemoryBudgets",
    "MemoryLocks",
    "MemoryPluginState",
    "MemoryVault",
    "PublishedLimit",
    "Recorder",
    "ScriptedSlowDowns",
    "SeenRequest",
    "StreamRun",
    "memory_context",
    "shared_path",
]
