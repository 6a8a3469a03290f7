"""Key rotation over 100,000 customers while the service keeps answering.

Seeds customers (phone, name and ID number encrypted: 3 tokens each) into a migrated database,
then runs the rotation behind ``greenbank keys rotate`` while two threads read: HTTP ``/readyz``
(its database check must say "ok") and look-ups by ID number through the blind index. Every read
must succeed and stay under the latency target. Default: a temporary SQLite file;
``--database-url`` (repeatable) for PostgreSQL, whose ``customers`` table must be empty.
Records docs/performance.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from fastapi.testclient import TestClient
from sqlalchemy import Table, func, insert, select

from greenbank.api import create_app
from greenbank.bootstrap import Container, build_container
from greenbank.config import Environment, Settings
from greenbank.customers import registry
from greenbank.customers.models import Customer
from greenbank.ids import new_id
from greenbank.keys import SQLITE_PAUSE_S, rotate
from greenbank.migrations_runner import upgrade
from greenbank.pii import seal_rows

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:keys:start -->", "<!-- bench:keys:end -->"
TARGET_READ_P99_S = 1.0


def id_number(n: int) -> str:
    return f"4401{n:013d}X"


def seed(container: Container, rows: int, chunk: int = 5_000) -> list[str]:
    """``rows`` customers by executemany of sealed rows; returns their ids in order."""
    now, ids = datetime(2026, 3, 2, tzinfo=UTC), []
    table = cast(Table, Customer.__table__)
    for start in range(0, rows, chunk):
        plain = []
        for n in range(start, min(start + chunk, rows)):
            ids.append(new_id())
            plain.append(
                {
                    "id": ids[-1],
                    "phone": f"139{n:08d}",
                    "name": f"客户{n}",
                    "id_number": id_number(n),
                    "status": "verified",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with container.engine.begin() as conn:
            conn.execute(insert(table), seal_rows(container.keyring, table, plain))
    return ids


@dataclass
class Reads:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        if not self.latencies:
            return f"{name:<22} no reads"
        return (
            f"{name:<22} {len(self.latencies):>6} reads"
            f"  p50 {statistics.median(self.latencies) * 1000:7.1f} ms"
            f"  p99 {self.p99 * 1000:7.1f} ms  max {max(self.latencies) * 1000:7.1f} ms"
            f"  failed {len(self.failures)}"
        )

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else 0


def run(url: str, rows: int, batch_size: int, var_dir: Path) -> tuple[list[str], bool]:
    """Seed, rotate under load; returns the report lines and whether every target was met."""
    settings = Settings(environment=Environment.TEST, database_url=url, var_dir=var_dir)
    container = build_container(settings)
    upgrade(container.engine)
    with container.engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(Customer.__table__)):
            raise SystemExit(f"{url}: the customers table must be empty")
    started = time.perf_counter()
    ids = seed(container, rows)
    seeded = time.perf_counter() - started
    http, service, stop = Reads(), Reads(), threading.Event()

    def timed(reads: Reads, read: Callable[[int], str | None]) -> None:
        n = 0
        while not stop.is_set():
            n = (n + 7919) % rows
            began = time.perf_counter()
            try:
                problem = read(n)
            except Exception as err:
                problem = f"{type(err).__name__}: {err}"
            reads.latencies.append(time.perf_counter() - began)
            if problem:
                reads.failures.append(str(problem))

    def readyz(_n: int) -> str | None:
        # The database check is what a rotation could disturb; migration bookkeeping is not.
        response = client.get("/readyz")
        database = response.json().get("checks", {}).get("database")
        return None if database == "ok" else f"/readyz {response.status_code} {response.text}"

    def lookup(n: int) -> str | None:
        with container.uow() as uow:
            found = registry.find_by_id_number(uow.session, container.keyring, id_number(n))
            good = found is not None and found.id == ids[n] and found.name == f"客户{n}"
        return None if good else f"look-up {n} failed"

    with TestClient(create_app(container=container), raise_server_exceptions=False) as client:
        threads = [
            threading.Thread(target=timed, args=(http, readyz)),
            threading.Thread(target=timed, args=(service, lookup)),
        ]
        for thread in threads:
            thread.start()
        try:
            report = rotate(container.engine, container.keyring, batch_size=batch_size)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    container.close()
    database = url.split(":", 1)[0].split("+")[0]
    lines = [
        f"{database}: seeded {rows:,} customers ({3 * rows:,} tokens) in {seeded:.1f} s; "
        f"rotated {report.rotated:,} tokens to v{report.version} in {report.seconds:.1f} s "
        f"({report.rotated / report.seconds:,.0f} tokens/s, {report.batches} batches of "
        f"{batch_size}), {report.remaining} left",
        "  " + http.line("GET /readyz"),
        "  " + service.line("find_by_id_number"),
    ]
    ok = (
        report.remaining == 0
        and report.rotated == 3 * rows
        and all(r.latencies and not r.failures for r in (http, service))
        and max(http.p99, service.p99) < TARGET_READ_P99_S
    )
    for failure in (http.failures + service.failures)[:5]:
        lines.append(f"  failure: {failure}")
    return lines, ok


def write_section(lines: list[str], ok: bool, rows: int) -> None:
    """Replace the keys section between its markers, keeping the rest of the file."""
    section = "\n".join(
        [
            START,
            "## Key rotation (`bench/bench_keys_rotate.py`)",
            "",
            f"- Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {rows:,} customers, "
            f"reads in 2 threads during the rotation; read p99 target < {TARGET_READ_P99_S:g} s: "
            f"{'PASS' if ok else 'FAIL'}",
            f"- Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}",
            f"- SQLite pauses {SQLITE_PAUSE_S * 1000:.0f} ms between batches so waiting "
            "transactions get its single write lock; PostgreSQL does not pause",
            "",
            "```",
            *lines,
            "```",
            END,
        ]
    )
    text = DOC.read_text() if DOC.exists() else "# Performance\n\nFigures recorded by `bench/`.\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", action="append", default=[])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    all_lines, all_ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        urls = args.database_url or [f"sqlite:///{Path(tmp) / 'rotate.db'}"]
        for i, url in enumerate(urls):
            lines, ok = run(url, args.rows, args.batch_size, Path(tmp) / f"var{i}")
            print("\n".join(lines), flush=True)
            all_lines += lines
            all_ok &= ok
    if not args.no_write:
        write_section(all_lines, all_ok, args.rows)
    print("ok" if all_ok else "a target was missed")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
