"""shared_path: where the official API descriptions are, and what happens without."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from servicesync_sdk.testing import SHARED_ENV, shared_path

SPEC = "api-specs/tasklet/spec/openapi.json"


@pytest.fixture(autouse=True)
def fail_when_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as on CI, with no shared folder named, whatever this run has.

    A lookup that goes wrong then fails the test rather than skipping it.
    """
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv(SHARED_ENV, raising=False)


def checkout_beside_shared(root: Path) -> tuple[Path, Path]:
    """Lay out ``root/shared/<SPEC>`` and ``root/checkout/plugins/p/tests``.

    Returns the description's path and the tests folder.
    """
    spec = root / "shared" / SPEC
    spec.parent.mkdir(parents=True)
    spec.write_text("{}")
    tests = root / "checkout" / "plugins" / "p" / "tests"
    tests.mkdir(parents=True)
    return spec, tests


def test_shared_path_named_by_the_variable_is_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = checkout_beside_shared(tmp_path)
    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "shared"))

    assert shared_path(SPEC) == spec


def test_shared_path_takes_its_path_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, _ = checkout_beside_shared(tmp_path)
    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "shared"))

    assert shared_path("api-specs", "tasklet", "spec", "openapi.json") == spec


def test_shared_path_is_found_beside_the_checkout(tmp_path: Path) -> None:
    spec, tests = checkout_beside_shared(tmp_path)

    assert shared_path(SPEC, start=tests) == spec


def test_shared_path_passes_over_a_shared_folder_without_the_path(
    tmp_path: Path,
) -> None:
    spec, tests = checkout_beside_shared(tmp_path)
    (tmp_path / "checkout" / "plugins" / "shared").mkdir()

    assert shared_path(SPEC, start=tests) == spec


def test_shared_path_walks_up_from_the_calling_file(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, tests = checkout_beside_shared(tmp_path)
    caller = tests / "tasklet_spec.py"
    caller.write_text(
        "from servicesync_sdk.testing import shared_path\n"
        f"def where():\n    return shared_path({SPEC!r})\n"
    )
    loaded = importlib.util.spec_from_file_location("tasklet_spec", caller)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    # No folder above the working directory holds the description.
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))

    assert module.where() == spec


def test_shared_path_walks_up_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name no real shared folder holds, so the walk up from this test
    # file finds nothing and the working directory decides.
    relative = f"api-specs/{tmp_path.name}/openapi.json"
    spec = tmp_path / "shared" / relative
    spec.parent.mkdir(parents=True)
    spec.write_text("{}")
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")

    assert shared_path(relative) == spec


def test_shared_path_absent_skips_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tests = checkout_beside_shared(tmp_path)
    monkeypatch.delenv("CI")

    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_path("api-specs/other.json", what="The Other description", start=tests)

    reason = str(skipped.value)
    assert reason.startswith("The Other description was not found")
    assert str(Path("shared") / "api-specs" / "other.json") in reason
    assert str(tests) in reason


def test_shared_path_absent_fails_under_ci(tmp_path: Path) -> None:
    _, tests = checkout_beside_shared(tmp_path)

    with pytest.raises(pytest.fail.Exception, match="The Other description"):
        shared_path("api-specs/other.json", what="The Other description", start=tests)


def test_shared_path_named_by_the_variable_is_the_only_place_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, tests = checkout_beside_shared(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv(SHARED_ENV, str(elsewhere))

    with pytest.raises(pytest.fail.Exception) as failed:
        shared_path(SPEC, what="The Tasklet description", start=tests)

    assert str(elsewhere / SPEC) in str(failed.value)
