"""Carbon ingestion throughput, re-computation rate and bus latency, on SQLite and PostgreSQL.

1. Ingestion: metro-trip events in batches of ``--batch`` through ``ingest_events`` (validation,
   dedupe, consent, compute, caps, ledger, points, counters, one transaction per batch), beside a
   raw batched INSERT (executemany through SQLAlchemy Core) of the *same* rows, through the same
   driver, into the same tables, in the same run: every row the service wrote (events, ledger
   entries, cap counters, the outbox's carbon.credited events; the account rows, which the
   service updates, as an executemany UPDATE), a batch's share of each per transaction. The
   event and entry rows alone are reported too (the reference of earlier runs). Targets:
   >= 5,000 events/s and >= 40 % of raw. Wall and CPU time of the client process are both
   reported (the machine may be shared), and the garbage collector's share of the service's
   wall time.
2. Re-computation: ``--recompute`` credited events are bulk-loaded, a version 2 is published
   retroactively and ``recomputation.run`` re-computes all of them (measured, not extrapolated).
3. Latency (SQLite, embedded dispatcher): publish a bank event, wait until it is credited; p50/p99.

Writes the figures to docs/performance.md between the bench:carbon markers. Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import copy
import gc
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update

from greenbank.bootstrap import Container, build_container
from greenbank.bus import publish
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry, load_bus_modules
from greenbank.bus.dispatcher import DispatcherGroup
from greenbank.bus.models import OutboxEvent
from greenbank.carbon import methodologies_admin, recomputation
from greenbank.carbon.catalog import install_v1, version_1_entries
from greenbank.carbon.consumers import CREDIT_CONSUMER
from greenbank.carbon.events import UtilityPaid
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.models import (
    ACCOUNTS,
    CONSENTS,
    COUNTERS,
    ENTRIES,
    EVENTS,
    REJECTIONS,
    MethodologyRow,
)
from greenbank.carbon.pipeline import RawEvent
from greenbank.clock import business_date
from greenbank.config import Environment, Settings
from greenbank.ids import new_id
from greenbank.migrations_runner import upgrade

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:carbon:start -->", "<!-- bench:carbon:end -->"
PG_DB = "gb_bench_carbon"
SCENARIOS = ("metro_trip", "online_utility_payment")
OUTBOX = cast(Table, OutboxEvent.__table__)


def container_for(url: str) -> Container:
    return build_container(Settings(environment=Environment.TEST, database_url=url, _env_file=None))


def fresh(kind: str, tmp: Path, pg_db: str = PG_DB) -> Container:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'carbon.db'}"
    else:
        for cmd in (["dropdb", "--if-exists"], ["createdb"]):
            subprocess.run([*cmd, "-h", "127.0.0.1", "-U", "postgres", pg_db], check=True)
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_db}"
    container = container_for(url)
    upgrade(container.engine)
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="bench")
        uow.commit()
    return container


def open_accounts(container: Container, ids: list[str], since: datetime) -> list[str]:
    """Accounts with bank consent for the bench scenarios, bulk-inserted."""
    accounts = [
        {
            "customer_id": c,
            "public_id": new_id(),
            "terms_version": "2026-01",
            "consented_at": since,
            "lifetime_mg": 0,
            "carried_mg": 0,
            "points_earned": 0,
            "points_balance": 0,
            "level": "sprout",
            "rank_opt_in": False,
            "updated_at": since,
        }
        for c in ids
    ]
    consents = [
        {
            "id": new_id(),
            "customer_id": c,
            "source": "bank",
            "scenario": s,
            "terms_version": "2026-01",
            "granted_at": since,
            "revoked_at": None,
        }
        for c in ids
        for s in SCENARIOS
    ]
    with container.uow() as uow:
        uow.session.execute(insert(ACCOUNTS), accounts)
        uow.session.execute(insert(CONSENTS), consents)
        uow.commit()
    return ids


def metro_events(customers: list[str], numbers: range, now: datetime, tag: str) -> list[RawEvent]:
    """Metro trips ``numbers`` of a stream (the same trip for the same number on every run)."""
    events = []
    for n in numbers:
        rng = random.Random(n)
        events.append(
            RawEvent(
                "bank",
                f"{tag}-{n}",
                customers[n % len(customers)],
                "metro_trip",
                now - timedelta(minutes=rng.randrange(1, 600)),
                {"distance_km": f"{rng.randrange(10, 300) / 10}"},
            )
        )
    return events


class GcClock:
    """Wall time spent in the garbage collector (gc.callbacks), to report its share."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def bench_ingest(container: Container, events: int, batch: int) -> dict[str, float]:
    """Each batch is made just before it is ingested, as a feed delivers it (a whole day's
    stream held in memory would only make the garbage collector's full passes slower); only the
    ``ingest_events`` calls are timed."""
    now = container.clock.now()
    ids = [f"bench-{n:07d}" for n in range(max(1, events // 4))]
    customers = open_accounts(container, ids, now - timedelta(days=1))
    wall = cpu = 0.0
    accepted = 0
    gc_clock = GcClock()
    gc.callbacks.append(gc_clock)
    try:
        for start in range(0, events, batch):
            arriving = metro_events(customers, range(start, min(events, start + batch)), now, "e")
            started, cpu_started = time.perf_counter(), time.process_time()
            results = ingest_events(container.uow, container.clock, arriving)
            wall += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            accepted += sum(r.outcome == "accepted" for r in results)
    finally:
        gc.callbacks.remove(gc_clock)
    service, service_cpu = events / wall, events / cpu
    batches = -(-events // batch)
    written = take_written_rows(container)
    all_rows = raw_insert(container, written, batches)
    events_only = raw_insert(container, {t: written[t] for t in (EVENTS, ENTRIES)}, batches)
    return {
        "service": service,
        "service_cpu": service_cpu,
        "raw": all_rows[0],
        "raw_cpu": all_rows[1],
        "raw_two": events_only[0],
        "raw_two_cpu": events_only[1],
        "gc_share": gc_clock.seconds / wall,
        "accepted": accepted,
        "events": events,
    }


def take_written_rows(container: Container) -> dict[Table, list[dict[str, Any]]]:
    """Every row the service wrote (events, entries, counters, the outbox's carbon.credited
    events; accounts as they stand), in the order written; all but the accounts are deleted so
    the raw insert can write them again."""
    written: dict[Table, list[dict[str, Any]]] = {}
    with container.uow() as uow:
        s = uow.session
        for table, order in (
            (EVENTS, EVENTS.c.id),
            (ENTRIES, ENTRIES.c.id),
            (COUNTERS, COUNTERS.c.customer_id),
            (ACCOUNTS, ACCOUNTS.c.customer_id),
            (OUTBOX, OUTBOX.c.id),
        ):
            written[table] = [dict(r._mapping) for r in s.execute(select(table).order_by(order))]
        for table in (ENTRIES, EVENTS, REJECTIONS, COUNTERS, OUTBOX):
            s.execute(delete(table))
        uow.commit()
    return written


def raw_insert(
    container: Container, written: dict[Table, list[dict[str, Any]]], batches: int
) -> tuple[float, float]:
    """The rows written again as plain executemany INSERTs through SQLAlchemy Core and the same
    driver, one transaction per batch, each batch taking its share of every table; the account
    rows (which the service updates) as an executemany UPDATE of the same values. Deletes what
    it inserted afterwards. Returns events/s by wall and by CPU time of this process."""
    events = len(written[EVENTS])
    update_account = update(ACCOUNTS).where(ACCOUNTS.c.customer_id == bindparam("key"))
    shares = {table: -(-len(rows) // batches) for table, rows in written.items()}
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(batches):
        with container.uow() as uow:
            for table, rows in written.items():
                part = rows[n * shares[table] : (n + 1) * shares[table]]
                if not part:
                    continue
                if table is ACCOUNTS:
                    values = [{k: v for k, v in row.items() if k != "customer_id"} for row in part]
                    keys = [{"key": row["customer_id"]} for row in part]
                    uow.session.execute(
                        update_account, [v | k for v, k in zip(values, keys, strict=True)]
                    )
                else:
                    uow.session.execute(insert(table), part)
            uow.commit()
    rate, rate_cpu = events / (time.perf_counter() - started), events / (time.process_time() - cpu)
    with container.uow() as uow:
        for table in (ENTRIES, EVENTS, COUNTERS, OUTBOX):
            if table in written:
                uow.session.execute(delete(table))
        uow.commit()
    return rate, rate_cpu


def bench_recompute(container: Container, count: int) -> dict[str, float]:
    """Bulk-load ``count`` credited metro trips, publish v2 from 2026-11-01, re-compute all."""
    with container.uow() as uow:
        for table in (ENTRIES, EVENTS, COUNTERS):
            uow.session.execute(delete(table))
        uow.commit()
    first = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    customers = open_accounts(
        container, [f"rc-{n:07d}" for n in range(max(1, count // 100))], first
    )
    with container.uow() as uow:
        v1 = uow.session.scalar(
            select(MethodologyRow.id).where(MethodologyRow.scenario == "metro_trip")
        )
        uow.commit()
    loaded = time.perf_counter()
    for start in range(0, count, 20_000):
        events, entries = [], []
        for n in range(start, min(count, start + 20_000)):
            event_id, at = new_id(), first + timedelta(minutes=n % 20_000)
            events.append(
                {
                    "id": event_id,
                    "source": "bank",
                    "source_event_id": f"r{n}",
                    "customer_id": customers[n % len(customers)],
                    "scenario": "metro_trip",
                    "occurred_at": at,
                    "received_at": at,
                    "status": "accepted",
                    "reason": None,
                    "detail": None,
                    "inputs": {"distance_km": "10"},
                    "fingerprint": "-",
                    "credited_mg": 467_000,
                }
            )
            entries.append(
                {
                    "id": new_id(),
                    "customer_id": events[-1]["customer_id"],
                    "scenario": "metro_trip",
                    "kind": "credit",
                    "event_id": event_id,
                    "methodology_id": v1,
                    "methodology_version": 1,
                    "co2e_mg": 467_000,
                    "computed_mg": 467_000,
                    "capped": False,
                    "provisional": False,
                    "parameters": {"factor_g_per_pkm": "46.7"},
                    "explanation": "10 km × 46.7 g/pkm = 467 g",
                    "business_date": business_date(at),
                    "points": 46,
                    "created_at": at,
                    "run_id": None,
                }
            )
        with container.uow() as uow:
            uow.session.execute(insert(EVENTS), events)
            uow.session.execute(insert(ENTRIES), entries)
            uow.commit()
    load_seconds = time.perf_counter() - loaded
    [entry] = [e for e in version_1_entries() if e["scenario"] == "metro_trip"]
    v2 = copy.deepcopy(entry)
    v2.update(version=2, effective_from="2026-11-01")
    v2["parameters"][0]["value"] = "50"
    v2["examples"] = [
        {"inputs": {"distance_km": 10}, "expected_g": "500"},
        {"inputs": {}, "expected_g": "515.5"},
    ]
    draft = methodologies_admin.create_draft(
        container.uow, container.clock, actor="a", definition=v2
    )
    methodologies_admin.submit(container.uow, container.clock, actor="a", methodology_id=draft.id)
    methodologies_admin.approve(container.uow, container.clock, actor="b", methodology_id=draft.id)
    started = time.perf_counter()
    done = recomputation.run(
        container.uow,
        container.clock,
        scenario="metro_trip",
        version=2,
        actor="bench",
        batch_customers=100,
    )
    seconds = time.perf_counter() - started
    assert done.adjusted == count and done.delta_mg == count * 33_000, done
    return {"events": count, "seconds": seconds, "rate": count / seconds, "load": load_seconds}


def bench_latency(container: Container, samples: int) -> dict[str, float]:
    now = container.clock.now()
    [customer] = open_accounts(container, ["latency"], now - timedelta(days=1))
    load_bus_modules()
    credit = REGISTRY.get(CREDIT_CONSUMER)
    assert credit is not None
    group = DispatcherGroup(container, consumers=ConsumerRegistry([credit]))
    group.start()
    latencies = []
    try:
        time.sleep(0.1)
        for n in range(samples):
            payment = f"lat-{n}"
            started = time.perf_counter()
            with container.uow() as uow:
                publish(
                    uow.session,
                    UtilityPaid(
                        customer_id=customer,
                        payment_id=payment,
                        utility="gas",
                        amount_fen=100,
                        paid_at=container.clock.now(),
                    ),
                    aggregate_type="bench",
                    aggregate_id=payment,
                )
                uow.commit()
            while True:
                with container.uow() as uow:
                    found = uow.session.scalar(
                        select(EVENTS.c.id).where(
                            EVENTS.c.source == "bank",
                            EVENTS.c.source_event_id == f"utility:{payment}",
                        )
                    )
                if found:
                    break
                time.sleep(0.002)
            latencies.append(time.perf_counter() - started)
    finally:
        group.stop()
    latencies.sort()
    return {"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--recompute", type=int, default=1_000_000)
    parser.add_argument("--recompute-pg", type=int, default=1_000_000)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--pg-db", default=PG_DB, help="PostgreSQL database to drop and re-create for the run"
    )
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="measure without gc.freeze() after set-up (greenbank serve and worker freeze their "
        "start-up heap, GREENBANK_GC_FREEZE; the bench does the same by default)",
    )
    args = parser.parse_args()
    lines = []
    ok = True
    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            container = fresh(kind, Path(tmp), args.pg_db)
            if args.gc_freeze:  # as greenbank serve / worker do once started
                gc.collect()
                gc.freeze()
            ingest = bench_ingest(container, args.events, args.batch)
            ratio = ingest["service"] / ingest["raw"]
            ok &= ingest["service"] >= 5_000 and ratio >= 0.40
            lines.append(
                f"- {kind}: ingestion {ingest['service']:,.0f} events/s through the service "
                f"({ingest['accepted']:,.0f} of {ingest['events']:,.0f} accepted, batches of "
                f"{args.batch}); raw executemany of the same rows (every row the service wrote) "
                f"{ingest['raw']:,.0f} events/s; ratio {ratio:.0%} (targets: >= 5,000/s, "
                f">= 40 %). Per CPU second of the client process: "
                f"{ingest['service_cpu']:,.0f} vs {ingest['raw_cpu']:,.0f} events/s "
                f"({1e6 / ingest['service_cpu']:,.0f} vs {1e6 / ingest['raw_cpu']:,.0f} µs CPU "
                f"per event, ratio {ingest['service_cpu'] / ingest['raw_cpu']:.0%}). The event "
                f"and entry rows alone, raw: {ingest['raw_two']:,.0f} events/s (ratio "
                f"{ingest['service'] / ingest['raw_two']:.0%}; {1e6 / ingest['raw_two_cpu']:,.0f} "
                f"µs CPU per event). The garbage collector took {ingest['gc_share']:.0%} of the "
                "service's wall time"
                + (" (gc.freeze() after set-up, as serve and worker do)" if args.gc_freeze else "")
            )
            print(lines[-1], flush=True)
            if kind == "sqlite" and args.latency_samples:
                lat = bench_latency(container, args.latency_samples)
                ok &= lat["p99"] < 1.0
                lines.append(
                    f"- sqlite, embedded dispatcher: event published -> credited p50 "
                    f"{lat['p50'] * 1000:.0f} ms, p99 {lat['p99'] * 1000:.0f} ms over "
                    f"{args.latency_samples} events (target p99 < 1 s)"
                )
                print(lines[-1], flush=True)
            count = args.recompute if kind == "sqlite" else args.recompute_pg
            if count:
                rc = bench_recompute(container, count)
                lines.append(
                    f"- {kind}: re-computation of {rc['events']:,.0f} credited events (measured, "
                    f"all adjusted) in {rc['seconds']:,.1f} s = {rc['rate']:,.0f} events/s "
                    f"(bulk load of the history took {rc['load']:,.1f} s)"
                )
                print(lines[-1], flush=True)
            container.close()
    if not args.no_write:
        write(lines)
    return 0 if ok else 1


def write(lines: list[str]) -> None:
    cpu = platform.processor() or platform.machine()
    block = "\n".join(
        [
            START,
            "## Carbon account (`bench/bench_carbon.py`)",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.system()} {cpu}, Python "
            f"{platform.python_version()}; PostgreSQL local, default settings.",
            "",
            *lines,
            END,
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
