"""``greenbank worker``: dispatcher processes separate from the web server.

Run as many as you like, on as many machines: deliveries are leased, so no two workers run the
same one. Set GREENBANK_BUS_EMBEDDED_DISPATCHER=0 on ``greenbank serve`` when workers do the job.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer

from greenbank.bootstrap import freeze_start_up_heap
from greenbank.bus.dispatcher import DispatcherGroup
from greenbank.cli.context import open_container
from greenbank.db import connect_or_explain


def worker(
    concurrency: int = typer.Option(1, min=1, max=64, help="Dispatcher threads in this process."),
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit."),
) -> None:
    """Deliver outbox events to their consumers until stopped (Ctrl-C / SIGTERM)."""
    container = open_container()
    with connect_or_explain(container.engine):
        pass
    group = DispatcherGroup(container, concurrency=concurrency)
    if once:
        handled = group.drain()
        group.stop()
        container.close()
        typer.echo(f"handled {handled} event(s)/deliveries")
        return
    stopping = threading.Event()

    def _request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    freeze_start_up_heap(container.settings)  # GREENBANK_GC_FREEZE
    group.start()
    typer.echo(f"greenbank worker: {concurrency} dispatcher(s) running; Ctrl-C to stop")
    stopping.wait()
    group.stop()
    container.close()
    typer.echo("greenbank worker stopped")
