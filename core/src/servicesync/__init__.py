"""servicesync keeps the sales and delivery sides of a services company consistent."""

from importlib.metadata import PackageNotFoundError, version

from servicesync._clock import Clock, SystemClock, VirtualClock
from servicesync.hookspecs import hookimpl

try:
    __version__ = version("servicesync")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["Clock", "SystemClock", "VirtualClock", "__version__", "hookimpl"]
