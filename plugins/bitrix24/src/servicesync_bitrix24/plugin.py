"""The servicesync plugin that contributes the Bitrix24 connector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servicesync import hookimpl
from servicesync.contract import Connector

from servicesync_bitrix24.connector import Bitrix24Connector


@hookimpl
def register_connectors(register: Callable[[type[Connector[Any]]], None]) -> None:
    """Register :class:`Bitrix24Connector`."""
    register(Bitrix24Connector)
