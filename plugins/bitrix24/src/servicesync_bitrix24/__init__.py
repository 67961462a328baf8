"""servicesync's Bitrix24 connector, its default mapping and a fake portal."""

from servicesync_bitrix24._client import Bitrix24Client, ListSpec, MethodFailed
from servicesync_bitrix24._config import Bitrix24Config
from servicesync_bitrix24.connector import Bitrix24Connector

__all__ = [
    "Bitrix24Client",
    "Bitrix24Config",
    "Bitrix24Connector",
    "ListSpec",
    "MethodFailed",
]
