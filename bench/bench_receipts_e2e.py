"""Receipts end to end: business commit (``issue_receipt``) -> sealed PDF stored and committed.

Issues receipts at a steady 20/s, each in its own transaction as a purchase would, with the real
``receipts.seal`` consumer on dispatcher threads (``--workers``) woken by the commit, as in
``greenbank serve``. Latency is issue-commit -> the receipt row reads ``sealed``. Target: p99 <
2 s at 20 events/s. A migrated SQLite file by default; ``--database-url`` for PostgreSQL (use an
empty throwaway database). Prints one line per run; exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from greenbank.bootstrap import Container, build_container
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry, load_bus_modules
from greenbank.bus.dispatcher import Dispatcher, DispatcherConfig
from greenbank.config import Environment, Settings
from greenbank.migrations_runner import upgrade
from greenbank.receipts.issue import PartyIn, ReceiptRequest, issue_receipt
from greenbank.receipts.models import SEALED, Receipt
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.runtime import runtime

TARGET_P99_S = 2.0
BANK = "绿色示范银行"


def request(n: int) -> ReceiptRequest:
    return ReceiptRequest(
        type=ReceiptType.DEPOSIT_PURCHASE,
        source_type="bench",
        source_id=f"{time.time_ns()}-{n}",
        customer_id="bench",
        time=datetime.now(UTC),
        serial_no=f"TX{n:08d}",
        payer=PartyIn(name="张三丰", account="6236680012345678901", bank=BANK),
        payee=PartyIn(name=BANK, account="4400000000000000001", bank=BANK, organisation=True),
        amount_fen=1_000_000 + n,
        product="绿色定期存款",
        term="1年",
    )


def run(url: str, var: Path, *, rate: float, count: int, workers: int) -> list[float]:
    settings = Settings(environment=Environment.TEST, database_url=url, var_dir=var, _env_file=None)
    container = build_container(settings)
    upgrade(container.engine)
    rt = runtime(container)
    assert rt.identity and rt.tsa  # create and load the dev PKI before the clock starts
    load_bus_modules()
    seal = REGISTRY.get("receipts.seal")
    assert seal is not None
    config = DispatcherConfig.from_settings(settings)
    dispatchers = [
        Dispatcher(container, consumers=ConsumerRegistry([seal]), config=config)
        for _ in range(workers)
    ]
    for dispatcher in dispatchers:
        dispatcher.start()
    sent: dict[str, float] = {}
    latencies: dict[str, float] = {}
    try:
        for n in range(count):
            with container.uow() as uow:
                receipt = issue_receipt(
                    uow.session, request(n), clock=container.clock, code_key=rt.code_key
                )
                uow.commit()
                sent[receipt.id] = time.perf_counter()
            _collect(container, sent, latencies)
            time.sleep(1 / rate)
        deadline = time.monotonic() + 60
        while len(latencies) < count and time.monotonic() < deadline:
            _collect(container, sent, latencies)
            time.sleep(0.01)
    finally:
        for dispatcher in dispatchers:
            dispatcher.stop()
        container.close()
    return list(latencies.values())


def _collect(container: Container, sent: dict[str, float], latencies: dict[str, float]) -> None:
    """Note the receipts that read sealed now (polled, so latency is slightly overstated)."""
    waiting = [rid for rid in sent if rid not in latencies]
    if not waiting:
        return
    with container.uow() as uow:
        done = uow.session.scalars(
            select(Receipt.id).where(Receipt.id.in_(waiting), Receipt.status == SEALED)
        ).all()
    now = time.perf_counter()
    for rid in done:
        latencies[rid] = now - sent[rid]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'receipts.db'}"
        latencies = run(url, Path(tmp), rate=args.rate, count=args.n, workers=args.workers)
    if len(latencies) < args.n:
        print(f"only {len(latencies)}/{args.n} receipts sealed within a minute")
        return 1
    p50, p99 = statistics.median(latencies), pct(latencies, 99)
    passed = p99 < TARGET_P99_S
    print(
        f"issue -> sealed, {args.rate:g}/s, {args.workers} dispatcher(s), n={args.n}: "
        f"p50 {p50 * 1000:.0f} ms  p99 {p99 * 1000:.0f} ms  max {max(latencies) * 1000:.0f} ms  "
        f"(target p99 < {TARGET_P99_S:g} s) {'ok' if passed else 'MISSED'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
