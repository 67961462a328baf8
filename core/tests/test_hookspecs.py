from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from servicesync import hookspecs

DOCS = Path(__file__).parents[2] / "docs" / "hooks.md"

SPECS = [
    (name, function)
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, "servicesync_spec")
]


def test_hookspecs_are_found() -> None:
    assert {name for name, _ in SPECS} >= {"register_connectors", "on_project_created"}


@pytest.mark.parametrize(("name", "function"), SPECS, ids=[name for name, _ in SPECS])
def test_hookspec_documented_with_its_signature(name: str, function: object) -> None:
    arguments = ", ".join(inspect.signature(function).parameters)  # type: ignore[arg-type]

    assert f"### `{name}({arguments})`" in DOCS.read_text()


@pytest.mark.parametrize(("name", "function"), SPECS, ids=[name for name, _ in SPECS])
def test_hookspec_docstring_says_what_the_return_means(
    name: str, function: object
) -> None:
    doc = inspect.getdoc(function) or ""

    assert "Returns:" in doc
    assert "Args:" in doc
