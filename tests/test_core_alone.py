"""The core installs, imports, migrates and runs without the SDK or any plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is not installed; run 'make test', which installs it")
    return found


@pytest.mark.timeout(300)
def test_core_alone_imports_migrates_and_runs(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run(
        [uv(), "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [uv(), "pip", "install", "-q", "-p", str(python), str(ROOT / "core")],
        check=True,
        env=env,
    )
    servicesync = venv / "bin" / "servicesync"

    imported = subprocess.run(
        [
            str(python),
            "-c",
            "import servicesync, servicesync.cli, sys; print(sorted(sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    version = subprocess.run(
        [str(servicesync), "--version"], capture_output=True, text=True
    )
    migrated = subprocess.run(
        [
            str(servicesync),
            "db",
            "upgrade",
            "--url",
            f"sqlite:///{tmp_path / 'alone.db'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    listed = subprocess.run(
        [str(servicesync), "plugins", "list", "--json"], capture_output=True, text=True
    )

    assert "servicesync_sdk" not in imported.stdout
    assert version.returncode == 0 and version.stdout.startswith("servicesync ")
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "alone.db").exists()
    assert listed.returncode == 0, listed.stderr
    assert '"failures": []' in listed.stdout
