"""Run ``servicesync`` commands in forked children of one warmed-up process.

Importing servicesync and loading its plugins takes seconds; a test that
runs the command line dozens of times would spend most of its time there.
This script imports the command line once, then reads one job per line on
stdin and forks a child per job that runs ``servicesync.cli.main`` exactly
as the installed script does. It answers each job with one JSON line.

A job is JSON with ``args``, ``env``, ``cwd``, ``log`` (the child's stderr,
and its stdout too unless it runs in the background) and ``timeout``:

* By default the launcher waits for the child and answers ``{"pid",
  "returncode", "killed"}``. ``returncode`` is negative when a signal ended
  the child (``-9`` for SIGKILL); ``killed`` is true when the launcher sent
  that SIGKILL itself because ``kill_after`` (optional) or ``timeout``
  seconds had passed. Only the launcher reaps its children, so the pid it
  kills cannot have been reused.
* With ``"background": true`` (a server, such as ``servicesync fake``) it
  answers ``{"pid", "first_line"}`` once the child printed its first line;
  ``{"stop": pid}`` later ends that child with SIGTERM and answers
  ``{"pid", "returncode"}``. Children still running when stdin closes are
  stopped the same way.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
import time
from typing import Any

from servicesync.cli import main
from servicesync.cli._app import build_app
from servicesync_sdk.fakes._discovery import fake_factories

#: Seconds a child may take to end after SIGTERM before it is killed.
STOP_GRACE = 10.0
#: Modules the commands import late (an HTTP client's transport, the fakes'
#: server, the output's emoji table), loaded before the first fork.
WARM_MODULES = (
    "servicesync.catalog",
    "servicesync.engine",
    "uvicorn",
    "httpcore",
    "anyio._backends._asyncio",
    "certifi",
    "rich._emoji_codes",
)


def warm_up() -> None:
    """Import what the commands will need, once, before any fork."""
    for module in WARM_MODULES:
        importlib.import_module(module)
    build_app()  # the core's commands and every plugin
    fake_factories()


def run_child(job: dict[str, Any], stdout: int | None) -> None:
    """Become the command of ``job``; never returns."""
    code = 1
    try:
        os.chdir(job["cwd"])
        os.environ.clear()
        os.environ.update(job["env"])
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log if stdout is None else stdout, 1)
        os.dup2(log, 2)
        sys.argv = ["servicesync", *job["args"]]
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def wait_for(pid: int, deadline: float, stop: int = signal.SIGKILL) -> tuple[int, bool]:
    """Wait for ``pid``, signal ``stop`` at ``deadline``; return (code, signalled)."""
    ended = _ended_by(pid, deadline)
    if not ended:
        os.kill(pid, stop)
        if stop != signal.SIGKILL and not _ended_by(pid, time.monotonic() + STOP_GRACE):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), not ended


def _ended_by(pid: int, deadline: float) -> bool:
    handle = os.pidfd_open(pid)
    try:
        timeout = max(0.0, deadline - time.monotonic())
        ended, _, _ = select.select([handle], [], [], timeout)
    finally:
        os.close(handle)
    return bool(ended)


def first_line(pid: int, pipe: int, deadline: float) -> str:
    """Read the child's first line of output, or ``""`` if it ends or stalls first."""
    handle = os.pidfd_open(pid)
    text = b""
    try:
        while b"\n" not in text:
            timeout = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([pipe, handle], [], [], timeout)
            chunk = os.read(pipe, 4096) if pipe in ready else b""
            if not chunk:
                break
            text += chunk
    finally:
        os.close(handle)
    return text.decode().partition("\n")[0]


class Launcher:
    """Forks a child per job and keeps the ones that run in the background."""

    def __init__(self) -> None:
        self.background: dict[int, int] = {}  # pid to the read end of its stdout

    def answer(self, job: dict[str, Any]) -> dict[str, Any]:
        """Carry out one job; return the answer to print."""
        if "stop" in job:
            return self.stop(int(job["stop"]))
        if job.get("background"):
            return self.start(job)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            run_child(job, None)
        limit = min(job.get("kill_after") or job["timeout"], job["timeout"])
        returncode, killed = wait_for(pid, started + limit)
        return {"pid": pid, "returncode": returncode, "killed": killed}

    def start(self, job: dict[str, Any]) -> dict[str, Any]:
        """Fork a server; return once it printed its first line."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            run_child(job, write_end)
        os.close(write_end)
        # The read end stays open while the server runs, so it never
        # writes into a closed pipe.
        self.background[pid] = read_end
        line = first_line(pid, read_end, time.monotonic() + job["timeout"])
        return {"pid": pid, "first_line": line}

    def stop(self, pid: int) -> dict[str, Any]:
        """End a server with SIGTERM (SIGKILL if it lingers); return its code."""
        returncode, _ = wait_for(pid, time.monotonic(), stop=signal.SIGTERM)
        os.close(self.background.pop(pid))
        return {"pid": pid, "returncode": returncode}

    def stop_all(self) -> None:
        """End every server still running."""
        for pid in list(self.background):
            self.stop(pid)


def serve() -> None:
    """Answer jobs from stdin until it closes."""
    warm_up()
    launcher = Launcher()
    try:
        for line in sys.stdin:
            print(json.dumps(launcher.answer(json.loads(line))), flush=True)
    finally:
        launcher.stop_all()


if __name__ == "__main__":
    serve()
