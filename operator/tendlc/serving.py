"""The one way the operator serves HTTP: an aiohttp application on a TCP port, started and stopped.

The metrics endpoint and the webhook receiver each run an `AppServer` with their own timeouts;
`start` returns the base URL it bound (port 0 picks a free one), `stop` ends it and may be called
twice. What is served is the caller's application; this room only runs it, with no access log
(the callers log what matters, never a header or body) and without taking over the process's
signals (Kopf owns them). `max_connections` bounds the open connections: one over it is closed as
it is accepted, before a byte is read (each open connection costs the process about 35 KB, so an
unbounded number is a way to exhaust its memory).
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


class AppServer:
    """Runs one aiohttp application (see the module docstring)."""

    def __init__(
        self,
        app: web.Application,
        *,
        keepalive_timeout: float = 15.0,
        shutdown_timeout: float = 5.0,
        lingering_time: float = 10.0,
        max_connections: int | None = None,
        name: str = "server",
    ) -> None:
        self._app = app
        self._max_connections = max_connections
        self._keepalive_timeout = keepalive_timeout
        self._shutdown_timeout = shutdown_timeout
        self._lingering_time = lingering_time
        self._name = name
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def url(self) -> str:
        """`http://host:port` once started."""
        if self._url is None:
            raise RuntimeError(f"the {self._name} is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError(f"the {self._name} is already started")
        runner = web.AppRunner(
            self._app,
            access_log=None,
            keepalive_timeout=self._keepalive_timeout,
            shutdown_timeout=self._shutdown_timeout,
            handle_signals=False,
            lingering_time=self._lingering_time,  # aiohttp's default; the receiver passes 0
        )
        await runner.setup()
        if self._max_connections is not None:
            _cap_connections(runner.server, self._max_connections)
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][0], runner.addresses[0][1]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._url = f"http://{shown}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        """Stop listening and finish (bounded) the requests in flight. Safe to call twice."""
        runner, self._runner = self._runner, None
        self._url = None
        if runner is not None:
            await runner.cleanup()


def _cap_connections(server: web.Server | None, limit: int) -> None:
    """Close every connection accepted while `limit` are open (aiohttp has no such setting)."""
    if server is None:  # pragma: no cover - set by AppRunner.setup
        raise RuntimeError("the runner has no server")
    made = server.connection_made

    def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
        made(handler, transport)
        if len(server.connections) > limit:
            transport.close()

    server.connection_made = connection_made  # type: ignore[method-assign]
