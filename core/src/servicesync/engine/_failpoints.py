"""Named points where a test can make the process die on purpose.

``SERVICESYNC_FAILPOINTS`` holds a comma-separated list of names; when the
engine reaches one of them it kills its own process with SIGKILL, exactly as
an out-of-memory kill or a pulled plug would. A name may carry a count,
``after_remote_create:2``, to die on the second time the point is reached.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["FAILPOINTS", "failpoint"]

ENV = "SERVICESYNC_FAILPOINTS"

#: Every failpoint the engine has, in the order a won-deal flow meets them.
FAILPOINTS = (
    "after_page_read",
    "after_page_commit",
    "before_remote_create",
    "after_remote_create",
    "after_journal_confirm",
    "after_write_back",
)

_reached: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Kill this process if the environment arms the failpoint ``name``."""
    if name not in FAILPOINTS:
        raise ValueError(f"Unknown failpoint {name!r}; known: {', '.join(FAILPOINTS)}.")
    armed = os.environ.get(ENV)
    if not armed:
        return
    _reached[name] += 1
    for entry in armed.split(","):
        point, _, count = entry.strip().partition(":")
        if point == name and _reached[name] >= int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
