"""The servicesync plugin that contributes the Trello connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servicesync import hookimpl
from servicesync.contract import Connector

from servicesync_trello._connector import TrelloConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector[Any]]], None]) -> None:
    """Contribute :class:`TrelloConnector`."""
    register(TrelloConnector)
