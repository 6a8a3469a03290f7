"""Ledger posting throughput against pgbench on the same PostgreSQL, plus SQLite single-writer.

Creates a throwaway database, runs ``pgbench -i -s 10`` and ``pgbench -c 8 -j 2 -T 20``
(TPC-B-like), then posts two-posting entries with idempotency keys from 8 concurrent clients
(threads, and processes to see past the GIL) for the same time, among 1,000 guarded Class II
accounts. Reports TPS, the ratio to pgbench (target >= 0.50), p50/p99 latency, runs
``verify_ledger`` and records the figures in docs/performance.md. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from greenbank.bootstrap import Container, build_container
from greenbank.config import Environment, Settings
from greenbank.ledger import commands
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.migrations_runner import upgrade

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:ledger:start -->", "<!-- bench:ledger:end -->"
TARGET_RATIO = 0.50
ACCOUNTS = 1_000
CLIENTS = 8
PG_HOST = os.environ.get("GREENBANK_BENCH_PGHOST", "127.0.0.1")
PG_USER = os.environ.get("GREENBANK_BENCH_PGUSER", "postgres")
DB_NAME = "gb_bench_ledger"


def container_for(url: str) -> Container:
    settings = Settings(
        environment=Environment.TEST, database_url=url, db_pool_size=CLIENTS, _env_file=None
    )
    return build_container(settings)


def pg(*args: str) -> str:
    return subprocess.run(
        [*args, "-h", PG_HOST, "-U", PG_USER], check=True, capture_output=True, text=True
    ).stdout


def pgbench_tps(seconds: int) -> float:
    subprocess.run(
        ["pgbench", "-h", PG_HOST, "-U", PG_USER, "-i", "-s", "10", "-q", DB_NAME],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            "pgbench",
            "-h",
            PG_HOST,
            "-U",
            PG_USER,
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            str(seconds),
            DB_NAME,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None:
        raise SystemExit(f"could not parse pgbench output:\n{out}")
    return float(match.group(1))


def seed(url: str) -> list[str]:
    """The chart of accounts and ACCOUNTS customers with 10,000.00 CNY each."""
    c = container_for(url)
    upgrade(c.engine)
    commands.ensure_chart_of_accounts(uow_factory=c.uow, clock=c.clock)
    codes = []
    for n in range(ACCOUNTS):
        code = commands.open_customer_account(
            uow_factory=c.uow, clock=c.clock, customer_id=f"bench{n}"
        ).code
        spec = EntrySpec.transfer(
            code=EntryCode.TOP_UP,
            idempotency_key=f"seed-{n}",
            debit=CARD_CLEARING,
            credit=code,
            amount_fen=1_000_000,
        )
        commands.post_entry(uow_factory=c.uow, clock=c.clock, spec=spec)
        codes.append(code)
    c.close()
    return codes


def client(c: Container, codes: list[str], tag: str, deadline: float) -> list[float]:
    """Post random transfers until the deadline; the latency of each, in seconds."""
    rng = random.Random(tag)
    latencies = []
    n = 0
    while time.perf_counter() < deadline:
        debit, credit = rng.sample(codes, 2)
        spec = EntrySpec.transfer(
            code=EntryCode.ADJUSTMENT,
            idempotency_key=f"{tag}-{n}",
            debit=debit,
            credit=credit,
            amount_fen=rng.randint(1, 100),
        )
        started = time.perf_counter()
        commands.post_entry(uow_factory=c.uow, clock=c.clock, spec=spec)
        latencies.append(time.perf_counter() - started)
        n += 1
    return latencies


def run_threads(url: str, codes: list[str], seconds: float, tag: str) -> list[float]:
    c = container_for(url)
    results: list[list[float]] = [[] for _ in range(CLIENTS)]
    deadline = time.perf_counter() + seconds

    def work(i: int) -> None:
        results[i] = client(c, codes, f"{tag}{i}", deadline)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    return [x for r in results for x in r]


def _process_client(args: tuple[str, list[str], str, float]) -> list[float]:
    url, codes, tag, seconds = args
    c = container_for(url)
    try:
        return client(c, codes, tag, time.perf_counter() + seconds)
    finally:
        c.close()


def run_processes(url: str, codes: list[str], seconds: float, tag: str) -> list[float]:
    with mp.get_context("spawn").Pool(CLIENTS) as pool:
        jobs = [(url, codes, f"{tag}{i}", seconds) for i in range(CLIENTS)]
        return [x for r in pool.map(_process_client, jobs) for x in r]


def summary(name: str, latencies: list[float], seconds: float) -> dict[str, float | str]:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"name": name, "tps": len(ordered) / seconds, "p50": pick(0.50), "p99": pick(0.99)}


def sqlite_figure(seconds: float) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        codes = seed(url)
        c = container_for(url)
        latencies = client(c, codes, "sqlite", time.perf_counter() + seconds)
        report = commands.verify_ledger(uow_factory=c.uow)
        c.close()
    if not report.ok:
        raise SystemExit("verify_ledger found differences after the SQLite bench")
    return summary("sqlite, 1 writer", latencies, seconds)


def verify_pg(url: str) -> str:
    c = container_for(url)
    report = commands.verify_ledger(uow_factory=c.uow)
    c.close()
    state = "clean" if report.ok else "HAS DIFFERENCES"
    print(f"verify_ledger after the bench: {report.entries:,} entries, ledger {state}")
    if not report.ok:
        raise SystemExit(str([check for check in report.checks if not check.ok]))
    return f"{report.entries:,} entries, {report.postings:,} postings: ledger {state}"


def write_section(section: str) -> None:
    """Replace the ledger section between its markers (re-reading the file just before)."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n\nFigures recorded by `bench/`.\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    subprocess.run(["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", DB_NAME], check=True)
    pg("createdb", DB_NAME)
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:5432/{DB_NAME}"
    try:
        baseline = pgbench_tps(args.seconds)
        print(f"pgbench tpcb-like: {baseline:,.0f} tps")
        codes = seed(url)
        figures = [
            summary(
                f"postgresql, {CLIENTS} threads",
                run_threads(url, codes, args.seconds, "t"),
                args.seconds,
            ),
            summary(
                f"postgresql, {CLIENTS} processes",
                run_processes(url, codes, args.seconds, "p"),
                args.seconds,
            ),
        ]
        verified = verify_pg(url)
    finally:
        subprocess.run(
            ["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", DB_NAME], check=False
        )
    figures.append(sqlite_figure(min(args.seconds, 10)))
    best = max(float(f["tps"]) for f in figures[:2])
    ratio = best / baseline
    passed = ratio >= TARGET_RATIO
    lines = [
        START,
        "## Ledger (`bench/bench_ledger.py`)",
        "",
        f"- Measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.seconds} s per run",
        f"- Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"PostgreSQL {pg('psql', '-tAc', 'show server_version').strip()} on the same host",
        f"- Python {platform.python_version()}; entries of 2 postings with idempotency keys, "
        f"random transfers among {ACCOUNTS:,} guarded accounts",
        f"- After the bench: {verified}",
        "- Note: the ledger's load generator is Python (SQLAlchemy session + Core, ~1 ms CPU per"
        " entry) sharing the host's CPUs with PostgreSQL; pgbench's client is C. Processes do"
        " not beat threads here because the host, not the GIL, is saturated.",
        "",
        "```",
        f"{'pgbench -c 8 -j 2 (tpcb-like)':34} {baseline:9,.0f} tps",
        *(
            f"{f['name']!s:34} {float(f['tps']):9,.0f} tps   p50 {float(f['p50']):6.1f} ms"
            f"   p99 {float(f['p99']):6.1f} ms"
            for f in figures
        ),
        f"{'ratio best / pgbench':34} {ratio:9.2f}       target >= {TARGET_RATIO:.2f}  "
        + ("PASS" if passed else "MISS"),
        "```",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
