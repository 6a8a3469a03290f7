"""``greenbank serve``: the HTTP server (uvicorn)."""

from __future__ import annotations

import socket

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from greenbank.cli.context import load_settings
from greenbank.db import connect_or_explain, create_db_engine

APP = "greenbank.api:create_app"


class TcpConfig(uvicorn.Config):
    """uvicorn's config, with a listening socket that keeps its TCP protocol number.

    With ``--workers N`` uvicorn binds the socket itself with ``proto=0``; accepted connections
    inherit it and asyncio then skips ``TCP_NODELAY``, so every keep-alive request after the
    first waits ~40 ms for the client's delayed ACK (uvicorn issue #3149, measured here: 44 ms
    a request with 2 workers, 0.6 ms with 1). Re-wrapping the descriptor lets the kernel report
    the real protocol. Remove once uvicorn binds with ``IPPROTO_TCP``.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        return socket.socket(fileno=sock.detach())  # family, type and proto read from the fd


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
        config = TcpConfig(
            APP, factory=True, host=bind_host, port=bind_port, workers=workers, log_level=log_level
        )
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    uvicorn.run(
        APP, factory=True, host=bind_host, port=bind_port, reload=reload, log_level=log_level
    )
