"""``greenbank serve``: the HTTP server (uvicorn)."""

from __future__ import annotations

import socket

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from greenbank.cli.context import load_settings
from greenbank.db import connect_or_explain, create_db_engine

APP = "greenbank.api:create_app"


def worker_socket(host: str, port: int) -> socket.socket:
    """A TCP listening socket of one worker, bound with ``SO_REUSEPORT``.

    Every worker binds its own socket to the address and the kernel spreads new connections
    over them. With one shared socket the first worker to wake accepts every pending
    connection, and keep-alive clients then stay on it: 32 clients opening at once all landed
    on one of two workers, which capped the server at one CPU. The protocol is given
    explicitly: uvicorn binds with ``proto=0``, so asyncio skips ``TCP_NODELAY`` on accepted
    connections and every keep-alive request after the first waits ~40 ms for the client's
    delayed ACK (uvicorn issue #3149; 44 ms a request here with 2 workers).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class SpreadWorkers(Multiprocess):
    """uvicorn's supervisor, handing every worker it starts or restarts a socket of its own
    (``worker_socket``). uvicorn reads ``self.sockets`` once per worker it starts; a dead
    worker's socket closes with it."""

    @property
    def sockets(self) -> list[socket.socket]:
        return [worker_socket(self.config.host, self.config.port)]

    @sockets.setter
    def sockets(self, _shared: list[socket.socket]) -> None:
        """uvicorn's ``__init__`` stores one shared list; it is not used."""


def serve(
    host: str | None = typer.Option(None, help="Bind address (default GREENBANK_HOST)."),
    port: int | None = typer.Option(None, help="Port (default GREENBANK_PORT)."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the HTTP API (docs at /docs) and the public receipt verification page (/verify)."""
    settings = load_settings()
    probe = create_db_engine(settings.database_url)
    with connect_or_explain(probe):
        pass
    probe.dispose()
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"greenbank on http://{bind_host}:{bind_port}  (API docs: /docs, health: /healthz)")
    log_level = settings.log_level.lower()
    if workers > 1 and not reload:
        config = uvicorn.Config(
            APP, factory=True, host=bind_host, port=bind_port, workers=workers, log_level=log_level
        )
        SpreadWorkers(config, sockets=[]).run()
        return
    uvicorn.run(
        APP, factory=True, host=bind_host, port=bind_port, reload=reload, log_level=log_level
    )
