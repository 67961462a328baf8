"""Run ``servicesync daemon`` as a real process and watch what it logs."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

LISTENING = re.compile(r"listening on [\d.]+:(\d+)")


class DaemonProcess:
    """One daemon process; its log lines are collected as they come."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "servicesync", "-c", str(config), "-v"]
        self.process = subprocess.Popen(
            [*command, "daemon", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(LISTENING).group(1))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            self._new.put(line)

    def wait_for(
        self, pattern: re.Pattern[str] | str, timeout: float = 120
    ) -> re.Match[str]:
        """Wait for a log line matching ``pattern``, seen from now on."""
        wanted = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._new.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self._new.empty():
                    break
                continue
            found = wanted.search(line)
            if found:
                return found
        raise AssertionError(
            f"the daemon never logged {wanted.pattern!r}; it logged:\n"
            + "".join(self.lines[-40:])
        )

    def health(self) -> dict[str, Any]:
        """Return what the daemon's health endpoint answers."""
        response = httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def wait_until_idle(
        self, senders_settled: Callable[[], bool], timeout: float = 120
    ) -> None:
        """Wait until nothing is on its way to the daemon and it has no work.

        Idle means: the services' webhooks have all been answered, and the
        daemon runs no sync and has none waiting; seen twice in a row, so a
        delivery answered between two looks is not missed.
        """
        deadline = time.monotonic() + timeout
        calm = 0
        while calm < 2:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the daemon never went idle; health says {self.health()}; "
                    "it logged:\n" + "".join(self.lines[-40:])
                )
            time.sleep(0.2)
            work = self.health()["work"]
            idle = senders_settled() and not work["running"] and not work["waiting"]
            calm = calm + 1 if idle else 0

    def terminate(self, timeout: float = 30) -> int:
        """Send SIGTERM and wait for the exit; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """Kill the process outright, as a crash or an out-of-memory kill would."""
        self.process.kill()
        self.process.wait(timeout=10)
