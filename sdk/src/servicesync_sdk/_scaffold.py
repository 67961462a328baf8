"""``servicesync plugin new``: start a plugin from the SDK's template.

The template (``servicesync_sdk/template``) is a working plugin for an
imaginary task service: a connector with one incremental stream, one action
and a webhook handler, its fake, and tests that enable the conformance
suite. Files end in ``.tmpl`` and carry ``{{name}}``-style placeholders;
``__package__`` in a path becomes the import name.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["new_plugin", "placeholders", "register", "render_plugin"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_SUFFIX = ".tmpl"


def placeholders(name: str) -> dict[str, str]:
    """Return the values of the template's placeholders for plugin ``name``.

    Raises:
        ValueError: ``name`` is not a lowercase identifier such as ``tasklet``.
    """
    if not _NAME.match(name):
        msg = (
            f"A plugin name is lowercase letters, digits and single underscores, "
            f"starting with a letter, such as 'tasklet'; {name!r} is not."
        )
        raise ValueError(msg)
    return {
        "name": name,
        "package": f"servicesync_{name}",
        "dist": f"servicesync-{name.replace('_', '-')}",
        "Title": "".join(part.capitalize() for part in name.split("_")),
    }


def render_plugin(name: str, directory: Path) -> Path:
    """Write a new plugin named ``name`` under ``directory``; return its root.

    Raises:
        ValueError: the name is not valid.
        FileExistsError: the plugin's folder exists already.
    """
    values = placeholders(name)
    root = directory / values["dist"]
    if root.exists():
        raise FileExistsError(f"{root} exists already; choose another name or --dir.")
    template = resources.files("servicesync_sdk") / "template"
    for source, relative in _walk(template, ()):
        target = root.joinpath(*(_fill(part, values) for part in relative))
        target = target.with_name(target.name.removesuffix(_SUFFIX))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_fill(source.read_text(encoding="utf-8"), values))
    return root


def new_plugin(
    name: Annotated[str, typer.Argument(help="The plugin's name, such as tasklet.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to create the plugin's folder.")
    ] = Path("."),
) -> None:
    """Create a plugin package from the SDK's template."""
    try:
        root = render_plugin(name, directory)
    except (ValueError, FileExistsError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    print(f"Created {root}")


def register(app: typer.Typer) -> None:
    """Add the ``plugin`` command group with ``plugin new`` to ``app``."""
    group = typer.Typer(help="Start and develop servicesync plugins.")
    group.command("new")(new_plugin)
    app.add_typer(group, name="plugin")


def _walk(
    folder: Traversable, parts: tuple[str, ...]
) -> list[tuple[Traversable, tuple[str, ...]]]:
    found: list[tuple[Traversable, tuple[str, ...]]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found.extend(_walk(entry, (*parts, entry.name)))
        elif entry.name.endswith(_SUFFIX):
            found.append((entry, (*parts, entry.name)))
    return found


def _fill(text: str, values: dict[str, str]) -> str:
    text = text.replace("__package__", values["package"])
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text
