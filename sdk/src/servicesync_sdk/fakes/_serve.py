"""Serving a fake on a loopback port with uvicorn."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn

from servicesync_sdk.fakes._service import FakeService

__all__ = ["bind_socket", "serve_forever", "serve_in_thread"]

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT = 10.0


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind a listening TCP socket; port ``0`` lets the system choose one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(fake: FakeService) -> _QuietServer:
    config = uvicorn.Config(
        fake, lifespan="off", log_level="warning", access_log=False, loop="asyncio"
    )
    return _QuietServer(config)


def _prepare(fake: FakeService, sock: socket.socket) -> str:
    fake.base_url = _url_of(sock)
    fake.raise_server_exceptions = False
    fake.webhooks.auto_deliver = True
    return fake.base_url


@contextlib.contextmanager
def serve_in_thread(
    fake: FakeService, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve ``fake`` over real HTTP in a background thread.

    The fake's :attr:`~FakeService.base_url` becomes the served address, and
    webhooks are delivered as soon as they are emitted. Give the fake a
    :class:`~servicesync.SystemClock` (scaled if its limits should pass
    faster): a virtual clock does not advance while a socket is waited on.

    Example:
        >>> with serve_in_thread(fake) as base_url:  # doctest: +SKIP
        ...     httpx.get(f"{base_url}/notes")

    Yields:
        The base URL, such as ``http://127.0.0.1:53017``.
    """
    sock = bind_socket(host, port)
    url = _prepare(fake, sock)
    server = _server(fake)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"fake-{fake.name}",
        daemon=True,
    )
    thread.start()
    try:
        _wait_started(server, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(_STARTUP_TIMEOUT)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The fake service did not start serving; see the log.")
        time.sleep(0.01)


def serve_forever(
    fake: FakeService,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``fake`` in this thread until SIGINT or SIGTERM, then return.

    Args:
        fake: the fake to serve.
        host: the address to bind.
        port: the port; ``0`` lets the system choose.
        on_ready: called with the base URL once the port is bound, before
            the first request is accepted.
    """
    sock = bind_socket(host, port)
    url = _prepare(fake, sock)
    server = _server(fake)

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info("Stopping the %s fake on signal %d", fake.name, signum)
        server.should_exit = True

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        if on_ready is not None:
            on_ready(url)
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
