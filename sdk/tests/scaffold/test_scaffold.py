"""``servicesync plugin new`` makes a plugin that installs and passes the suite."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from servicesync_sdk._scaffold import placeholders, render_plugin
from servicesync_sdk.testing import ConnectorConformance

REPO = Path(__file__).resolve().parents[3]
TUTORIAL = REPO / "docs" / "writing-a-plugin.md"
#: Every test of the conformance suite; the plugin's run must pass them all.
SUITE_PARTS = [name for name in dir(ConnectorConformance) if name.startswith("test_")]


def tutorial_commands() -> list[str]:
    """Return the commands of the tutorial's ``shell`` blocks, in order."""
    blocks = re.findall(r"```shell\n(.*?)```", TUTORIAL.read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_placeholders_refuse_bad_name() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        placeholders("Bad-Name")


def test_render_plugin_refuses_existing_folder(tmp_path: Path) -> None:
    render_plugin("tasklet", tmp_path)

    with pytest.raises(FileExistsError):
        render_plugin("tasklet", tmp_path)


def test_render_plugin_fills_every_placeholder(tmp_path: Path) -> None:
    root = render_plugin("acme_tasks", tmp_path)

    texts = [p.read_text() for p in root.rglob("*") if p.is_file()]
    assert (root / "src" / "servicesync_acme_tasks" / "connector.py").is_file()
    assert not any("{{" in text or "__package__" in text for text in texts)
    assert "class AcmeTasksConnector" in "".join(texts)


def test_tutorial_shows_the_commands() -> None:
    commands = tutorial_commands()

    assert commands[0].startswith("servicesync plugin new")
    assert any("pytest" in c for c in commands)


@pytest.mark.timeout(300)
def test_tutorial_commands_build_a_plugin_that_passes_the_suite(
    tmp_path: Path,
) -> None:
    uv = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    lock = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-workspace",
         "--all-packages", "--all-groups", "--no-header"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(lock.stdout)
    work = tmp_path / "work"
    work.mkdir()
    assert not work.is_relative_to(REPO), "the plugin is built outside the checkout"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT"}
        and not key.startswith(("PYTEST_", "UV_PYTHON"))
    }
    # Only the `servicesync` command of this environment is lent to the
    # tutorial: with this environment on PATH, `uv pip` could install into it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "servicesync").symlink_to(Path(sys.executable).parent / "servicesync")
    here = str(Path(sys.prefix))
    path = [p for p in env.get("PATH", "").split(os.pathsep) if here not in p]
    env.update(
        PATH=os.pathsep.join([str(Path(uv).parent), str(bin_dir), *path]),
        SERVICESYNC_REPO=str(REPO),
        UV_CONSTRAINT=str(constraints),
    )
    # After the tutorial, the plugin's environment says where it imports the
    # core and the SDK from: its own site-packages, not this checkout.
    where = (
        ".venv/bin/python -c 'import servicesync, servicesync_sdk as s; "
        'print("FROM", servicesync.__file__); print("FROM", s.__file__)\''
    )
    script = "set -e\n" + "\n".join([*tutorial_commands(), where])

    result = subprocess.run(
        ["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True
    )

    output = result.stdout + result.stderr
    imported = re.findall(r"^FROM (.+)$", result.stdout, re.M)
    passed = re.search(r"\b(\d+) passed\b", output)
    assert result.returncode == 0, output
    assert passed and int(passed[1]) >= len(SUITE_PARTS), output
    assert not re.search(r"\b(failed|skipped|errors?)\b", output), output
    assert len(imported) == 2, output
    assert all(Path(p).is_relative_to(work) for p in imported), imported
    assert not any(Path(p).is_relative_to(REPO) for p in imported), imported
