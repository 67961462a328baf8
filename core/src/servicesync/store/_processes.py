"""Naming the process that holds a claim, and telling whether it is gone.

A claim in the store (a leased outbox delivery) names its holder as
``host/pid/start``, where ``start`` is when the process started (in clock
ticks since boot, read from ``/proc``; ``0`` where that is not available).
A process killed with SIGKILL cannot give its claims back, but another
process on the same host can see that the holder is gone: no process has
that pid any more, it is a zombie, or the pid now belongs to a process that
started later. A holder on another host is never second-guessed; its lease
has to run out.
"""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path

__all__ = ["is_gone", "this_process"]

_PROC = Path("/proc")


def this_process() -> str:
    """Return the name of the running process as claims record it."""
    # Keyed on the pid: a forked child must not inherit its parent's name.
    return _name_of(os.getpid())


def is_gone(holder: str) -> bool:
    """Tell whether ``holder`` names a process of this host that has ended.

    Returns false whenever it cannot be sure: a holder on another host, a
    name it cannot read, or a process it may not signal but that exists.
    """
    host, _, rest = holder.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    state, started = _stat(pid)
    if state == "Z":
        return True
    return start not in ("", "0") and started is not None and started != start


@functools.cache
def _name_of(pid: int) -> str:
    _, started = _stat(pid)
    return f"{socket.gethostname()}/{pid}/{started or 0}"


def _stat(pid: int) -> tuple[str | None, str | None]:
    """Return the state letter and start time of ``pid`` from ``/proc``."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None, None
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20:
        return None, None
    return fields[0], fields[19]
