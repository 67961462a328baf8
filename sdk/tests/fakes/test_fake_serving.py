"""Serving a fake over real HTTP, in a thread and through ``servicesync fake``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notes_fake import NotesFake, factory
from servicesync import SystemClock, VirtualClock
from servicesync_sdk._commands import run_fake
from servicesync_sdk.fakes import FakeNotFoundError, load_fake, serve_in_thread

HERE = Path(__file__).parent


def test_serve_in_thread_answers_over_http() -> None:
    fake = NotesFake(clock=SystemClock(), seed=0)

    with serve_in_thread(fake) as base_url:
        response = httpx.get(
            f"{base_url}/notes", headers={"Authorization": f"Bearer {fake.token}"}
        )

    assert response.status_code == 200, response.text
    assert base_url.startswith("http://127.0.0.1:")
    assert fake.log.count(route="/notes", status=200) == 1


def test_serve_in_thread_drops_the_connection() -> None:
    fake = NotesFake(clock=SystemClock(), seed=0)
    fake.faults.answer_lost(method="POST", path="/notes")

    with serve_in_thread(fake) as base_url, pytest.raises(httpx.RemoteProtocolError):
        httpx.post(
            f"{base_url}/notes",
            json={"title": "applied"},
            headers={"Authorization": f"Bearer {fake.token}"},
        )

    assert len(fake.notes) == 1


def test_a_hold_keeps_matching_requests_waiting_until_released() -> None:
    fake = NotesFake(clock=SystemClock(), seed=0)
    headers = {"Authorization": f"Bearer {fake.token}"}
    answers: list[int] = []

    with serve_in_thread(fake) as base_url:
        hold = fake.hold(method="POST", route="/notes")
        writer = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"{base_url}/notes", json={"title": "x"}, headers=headers
                ).status_code
            )
        )
        writer.start()
        hold.wait_held()
        # A request the hold does not match goes through meanwhile.
        read = httpx.get(f"{base_url}/notes", headers=headers)
        held_before_release = (list(answers), len(fake.notes))
        hold.release()
        writer.join(timeout=30)
        # A released hold holds nothing more.
        again = httpx.post(f"{base_url}/notes", json={"title": "y"}, headers=headers)

    assert read.status_code == 200
    assert held_before_release == ([], 0)
    assert answers == [201] and again.status_code == 201
    assert hold.held == 1
    assert len(fake.notes) == 2


def test_a_hold_that_holds_nothing_says_so() -> None:
    fake = NotesFake(clock=SystemClock(), seed=0)

    with (
        serve_in_thread(fake),
        fake.hold(route="/notes") as hold,
        pytest.raises(TimeoutError, match="0 of 1 requests were held"),
    ):
        hold.wait_held(timeout=0.05)

    assert hold.released


def test_load_fake_uses_the_given_factories() -> None:
    fake = load_fake(
        "notes", clock=VirtualClock(), seed=4, factories={"notes": factory}
    )

    assert isinstance(fake, NotesFake)
    assert fake.random_seed == 4


def test_load_fake_unknown_name_lists_the_installed() -> None:
    with pytest.raises(FakeNotFoundError, match=r"'nope'.*installed: notes"):
        load_fake("nope", clock=VirtualClock(), factories={"notes": factory})


def test_run_fake_unknown_plugin_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = run_fake("nope", factories={"notes": factory})

    assert code == 2
    assert "No fake service is declared for 'nope'" in capsys.readouterr().err


@pytest.fixture
def registered_notes(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``notes`` is a ``servicesync.fakes`` entry point."""
    dist = tmp_path / "servicesync_notes_fake-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: servicesync-notes-fake\nVersion: 0.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[servicesync.fakes]\nnotes = notes_fake:factory\n"
    )
    path = os.pathsep.join([str(tmp_path), str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "SERVICESYNC_PLUGINS": "sdk"}


@pytest.fixture
def served(registered_notes: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    command = Path(sys.executable).parent / "servicesync"
    process = subprocess.Popen(
        [str(command), "fake", "notes", "--json", "--seed", "7", "--time-scale", "60"],
        env=registered_notes,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
def test_cli_fake_json_first_line_then_serves_until_signal(
    served: subprocess.Popen[str], stop: signal.Signals
) -> None:
    assert served.stdout is not None
    first = json.loads(served.stdout.readline())
    token = first["credentials"]["token"]
    response = httpx.get(
        f"{first['base_url']}/notes", headers={"Authorization": f"Bearer {token}"}
    )

    served.send_signal(stop)

    assert first["plugin"] == "notes"
    assert token == NotesFake(seed=7).token
    assert response.status_code == 200, response.text
    assert served.wait(timeout=30) == 0
