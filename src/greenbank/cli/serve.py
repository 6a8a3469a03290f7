"""``greenbank serve``: the HTTP server (uvicorn)."""

from __future__ import annotations

import typer
import uvicorn

from greenbank.cli.context import load_settings
from greenbank.db import connect_or_explain, create_db_engine


def serve(
    host: str | None = typer.Option(None, help="Bind address (default GREENBANK_HOST)."),
    port: int | None = typer.Option(None, help="Port (default GREENBANK_PORT)."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the API, the customer pages and the staff console."""
    settings = load_settings()
    probe = create_db_engine(settings.database_url)
    with connect_or_explain(probe):
        pass
    probe.dispose()
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"greenbank on http://{bind_host}:{bind_port}  (API docs: /docs, health: /healthz)")
    uvicorn.run(
        "greenbank.api:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        reload=reload,
        log_level=settings.log_level.lower(),
    )
