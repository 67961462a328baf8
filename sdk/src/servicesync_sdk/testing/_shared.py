"""Find the official API descriptions that tests read in place.

The descriptions live in a ``shared`` folder beside the checkout, never
inside it, so each test asks :func:`shared_path` where a file is and is
skipped, or failed on CI, when the file is not there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["SHARED_ENV", "shared_path"]

#: The environment variable that names the shared folder outright.
SHARED_ENV = "SERVICESYNC_SHARED"


def shared_path(
    *parts: str | os.PathLike[str],
    what: str = "The shared file",
    start: Path | None = None,
) -> Path:
    """Return the path of ``parts`` under the shared folder, or skip the test.

    Where the shared folder is:

    1. The folder named by ``SERVICESYNC_SHARED``, when that is set. It is
       then the only place looked at, so a wrong value shows as a skip
       naming it rather than being quietly replaced by another copy.
    2. Otherwise a folder named ``shared`` beside the checkout, found by
       walking up from the folder of the file that calls this function
       (``start`` replaces it), then from the current working directory.
       The caller's file comes first because it does not move when pytest
       is started from another folder; the working directory serves code
       that has no file, such as an interactive session. A ``shared``
       folder counts only when it holds ``parts``, so an unrelated folder
       of that name inside the tree is passed over.

    When the path is in neither place, the test is skipped with a reason
    naming where it was looked for. When the environment variable ``CI`` is
    set to anything non-empty, the test fails instead: a CI run is meant to
    have the descriptions, and a skip there would hide that none were read.
    Call it from a test or a fixture, where pytest can skip.

    Example::

        path = shared_path(
            "api-specs/jira/spec/swagger-v3.v3.json", what="The Jira description"
        )

    Args:
        parts: The path inside the shared folder, in one or more pieces.
        what: What the path holds, starting the skip or failure message.
        start: Where the walk up starts, instead of the caller's folder.

    Returns:
        The existing path, file or folder.
    """
    relative = Path(*parts)
    named = os.environ.get(SHARED_ENV)
    if named:
        path = Path(named) / relative
        if path.exists():
            return path
        _missing(f"{what} is not at {path} ({SHARED_ENV}={named!r}).")

    caller = start or _folder_of(sys._getframe(1).f_code.co_filename)
    origins = list(dict.fromkeys([caller.resolve(), Path.cwd().resolve()]))
    for origin in origins:
        found = _search_upwards(origin, relative)
        if found is not None:
            return found
    above = " or ".join(str(origin) for origin in origins)
    wanted = Path("shared") / relative
    _missing(
        f"{what} was not found: no folder from {above} upwards holds {wanted}. "
        f"Set {SHARED_ENV} to the shared folder to read it."
    )


def _folder_of(filename: str) -> Path:
    """Return the folder of the calling code's file, or the working directory.

    Code typed into an interpreter or run by ``exec`` has a made-up file name
    such as ``<stdin>``, which names no folder.
    """
    path = Path(filename)
    return path.parent if path.is_file() else Path.cwd()


def _search_upwards(origin: Path, relative: Path) -> Path | None:
    """Return ``shared/relative`` in the nearest folder above ``origin`` holding it."""
    for folder in (origin, *origin.parents):
        candidate = folder / "shared" / relative
        if candidate.exists():
            return candidate
    return None


def _missing(reason: str) -> NoReturn:
    """Skip the running test for ``reason``, or fail it when ``CI`` is set."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} CI is set, so the missing path fails the test.")
    pytest.skip(reason)
