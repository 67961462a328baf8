"""Finding, loading and describing plugins.

Plugins are modules named by entry points in the ``servicesync.plugins``
group. :func:`load_plugins` imports them through stevedore, registers them
with a pluggy manager and collects the connectors they contribute. A plugin
that fails to import, or breaks the hook contract, is reported with its name
and reason, and the others load all the same.

``SERVICESYNC_PLUGINS`` (a comma-separated list of entry point names) or the
config's ``[plugins] enabled`` narrows which plugins load.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

import pluggy
from stevedore import ExtensionManager, NamedExtensionManager

from servicesync import hookspecs
from servicesync.contract import Connector
from servicesync.errors import PluginError

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginLoadFailure",
    "Plugins",
    "load_plugins",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "servicesync.plugins"
ENV_FILTER = "SERVICESYNC_PLUGINS"


@dataclass(frozen=True)
class PluginLoadFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    reason: str


@dataclass
class PluginInfo:
    """What ``servicesync plugins list`` shows about one loaded plugin."""

    name: str
    version: str
    connectors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


@dataclass
class Plugins:
    """The loaded plugins, their connectors and the failures met on the way."""

    manager: pluggy.PluginManager
    connectors: dict[str, type[Connector[Any]]] = field(default_factory=dict)
    info: dict[str, PluginInfo] = field(default_factory=dict)
    failures: list[PluginLoadFailure] = field(default_factory=list)

    def connector(self, name: str) -> type[Connector[Any]]:
        """Return the connector class called ``name``.

        Raises:
            PluginError: no loaded plugin provides it.
        """
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            msg = (
                f"No loaded plugin provides the connector {name!r} "
                f"(loaded connectors: {known}). Install servicesync-{name}, "
                f"or check 'servicesync plugins list' for load errors."
            )
            raise PluginError(msg, plugin=name) from None


def new_manager() -> pluggy.PluginManager:
    """Return a plugin manager that knows servicesync's hook specifications."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def load_plugins(
    only: Iterable[str] | None = None,
    *,
    modules: Iterable[tuple[str, ModuleType | object]] | None = None,
) -> Plugins:
    """Discover and register plugins.

    Args:
        only: names of the entry points to load; ``None`` loads those named
            by ``SERVICESYNC_PLUGINS``, or every installed one.
        modules: ready-made ``(name, plugin)`` pairs to register instead of
            discovering entry points; tests build managers this way.

    Returns:
        The loaded plugins. Failures are listed in ``failures``, never raised.
    """
    plugins = Plugins(manager=new_manager())
    if modules is None:
        modules = _discover(_wanted(only), plugins.failures)
    for name, module in modules:
        _register(plugins, name, module)
    return plugins


def _wanted(only: Iterable[str] | None) -> set[str] | None:
    if only is not None:
        return set(only)
    env = os.environ.get(ENV_FILTER, "").strip()
    if env:
        return {part.strip() for part in env.split(",") if part.strip()}
    return None


def _discover(
    wanted: set[str] | None, failures: list[PluginLoadFailure]
) -> list[tuple[str, object]]:
    def on_failure(_manager: Any, entry_point: Any, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        # One line names the plugin and the reason; the traceback is only
        # for those who asked for debugging output.
        logger.error("Plugin %r could not be loaded: %s", entry_point.name, reason)
        logger.debug("Plugin %r failed to load", entry_point.name, exc_info=exc)
        failures.append(PluginLoadFailure(entry_point.name, reason))

    extensions: ExtensionManager[Any]
    if wanted is None:
        extensions = ExtensionManager(
            ENTRY_POINT_GROUP, on_load_failure_callback=on_failure
        )
    else:
        # Only the named entry points are imported: an excluded plugin that
        # would fail to import is never touched.
        extensions = NamedExtensionManager(
            ENTRY_POINT_GROUP,
            names=sorted(wanted),
            on_load_failure_callback=on_failure,
            name_order=True,
        )
    return [(ext.name, ext.plugin) for ext in extensions]


def _register(plugins: Plugins, name: str, module: object) -> None:
    try:
        plugins.manager.register(module, name=name)
    except pluggy.PluginValidationError as exc:
        reason = f"it breaks the hook contract: {exc}"
        logger.error("Plugin %r could not be loaded: %s", name, reason)
        plugins.failures.append(PluginLoadFailure(name, reason))
        return

    info = PluginInfo(name=name, version=_version_of(module))
    info.hooks = sorted(
        caller.name for caller in plugins.manager.get_hookcallers(module) or []
    )
    contributed: list[type[Connector[Any]]] = []
    try:
        _call_one(plugins.manager, module, contributed.append)
    except Exception as exc:
        reason = f"register_connectors raised {type(exc).__name__}: {exc}"
        logger.error("Plugin %r could not be loaded: %s", name, reason)
        plugins.failures.append(PluginLoadFailure(name, reason))
        plugins.manager.unregister(module)
        return

    for connector in contributed:
        problem = _connector_problem(plugins, connector)
        if problem:
            logger.error("Plugin %r could not be loaded: %s", name, problem)
            plugins.failures.append(PluginLoadFailure(name, problem))
            plugins.manager.unregister(module)
            return
    for connector in contributed:
        plugins.connectors[connector.name] = connector
        info.connectors.append(connector.name)
    plugins.info[name] = info


def _call_one(manager: pluggy.PluginManager, module: object, register: Any) -> None:
    # Each plugin's hook is called on its own, so that a failure or a bad
    # connector is blamed on the plugin that caused it.
    for impl in manager.hook.register_connectors.get_hookimpls():
        if impl.plugin is module:
            impl.function(register=register)


def _connector_problem(plugins: Plugins, connector: object) -> str | None:
    if not (isinstance(connector, type) and issubclass(connector, Connector)):
        return f"it registered {connector!r}, which is not a Connector subclass"
    name = getattr(connector, "name", None)
    if not isinstance(name, str) or not name:
        return f"its connector {connector.__qualname__} has no name"
    if name in plugins.connectors:
        return f"the connector name {name!r} is already taken by another plugin"
    return None


def _version_of(module: object) -> str:
    top = getattr(module, "__name__", type(module).__module__).split(".")[0]
    for candidate in (top.replace("_", "-"), top):
        try:
            return version(candidate)
        except PackageNotFoundError:
            continue
    return "unknown"
