"""Bus latency: publish-commit -> consumer running, at a steady 20 events/s and in a burst.

Two modes on a migrated SQLite file (``--database-url`` for PostgreSQL): *embedded* (woken by
the commit, as in ``greenbank serve``) and *worker* (a separate dispatcher that only polls, as
``greenbank worker``). Targets from the carbon account (p99 < 1 s) and receipts (p99 < 2 s at
20 events/s). Prints a table; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from greenbank.audit.service import record
from greenbank.bootstrap import build_container
from greenbank.bus.consumers import ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher, DispatcherConfig
from greenbank.bus.events import Event
from greenbank.bus.outbox import WAKE, WakeSignal, publish
from greenbank.config import Environment, Settings
from greenbank.db import UnitOfWork
from greenbank.migrations_runner import upgrade

TARGET_P99_S = 1.0


class BenchTick(Event):
    type = "bench.tick"
    n: int


def run(url: str, *, embedded: bool, rate: float, count: int) -> list[float]:
    """Latencies (seconds) of ``count`` events published at ``rate``/s (0: all at once)."""
    settings = Settings(
        environment=Environment.TEST,
        database_url=url,
        bus_poll_interval_ms=100,
        _env_file=None,
    )
    container = build_container(settings)
    upgrade(container.engine)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()
    registry = ConsumerRegistry()

    @registry.consumer("bench.effect", event_types=[BenchTick])
    def effect(event: BenchTick, uow: UnitOfWork) -> None:
        record(uow.session, container.clock, actor="bench", action="bench.tick")
        latencies.append(time.perf_counter() - sent[event.n])
        if len(latencies) == count:
            done.set()

    # The worker mode gets a private wake signal nobody notifies: it only polls.
    dispatcher = Dispatcher(
        container,
        consumers=registry,
        config=DispatcherConfig.from_settings(settings),
        wake=WAKE if embedded else WakeSignal(),
    )
    dispatcher.start()
    try:
        for n in range(count):
            with container.uow() as uow:
                publish(
                    uow.session, BenchTick(n=n), aggregate_type="bench", aggregate_id=str(n % 7)
                )
                sent[n] = time.perf_counter()
                uow.commit()
            if rate:
                time.sleep(1 / rate)
        done.wait(60)
    finally:
        dispatcher.stop()
        container.close()
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for mode, embedded, rate in [
            ("embedded, 20/s", True, 20.0),
            ("worker (poll 100 ms), 20/s", False, 20.0),
            ("embedded, burst", True, 0.0),
        ]:
            url = args.database_url or f"sqlite:///{Path(tmp) / f'bus-{embedded}-{rate}.db'}"
            latencies = run(url, embedded=embedded, rate=rate, count=args.n)
            if len(latencies) < args.n:
                print(f"{mode:<30} only {len(latencies)}/{args.n} delivered")
                ok = False
                continue
            p50, p99 = statistics.median(latencies), pct(latencies, 99)
            passed = rate == 0 or p99 < TARGET_P99_S
            ok &= passed
            print(
                f"{mode:<30} p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
                f"max {max(latencies) * 1000:7.1f} ms  {'ok' if passed else 'MISSED'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
