"""The maturity job: every active holding with a maturity on or before a day is settled once.

``run_maturity(uow_factory=, clock=, on=)`` walks the due holdings in (maturity, id) order, one
batch per short transaction (``settlement.settle``). It is idempotent and catch-up safe: a
settled holding leaves the due set in the same commit (closed, or renewed with a later
maturity), so running a day again finds nothing, and running after missed days settles
everything due up to ``on``. A batch the ledger refuses is retried one holding per transaction,
so one bad holding cannot stop the others; it stays due, is reported and is retried next run.

Where it runs: ``greenbank deposits run-maturity --date YYYY-MM-DD`` and, in ``greenbank serve``,
the ``MaturityScheduler`` thread (``GREENBANK_DEPOSITS_MATURITY_SCHEDULER``), which runs once at
start-up (catching up) and then every day just after midnight Asia/Shanghai.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial

from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.clock import SHANGHAI, Clock, business_date
from greenbank.config import Environment
from greenbank.db import UowFactory, locked_row, run_with_retry
from greenbank.deposits.holdings_models import MaturityRun
from greenbank.deposits.maturity_receipts import maturity_receipting
from greenbank.deposits.purchase import Receipting
from greenbank.deposits.settlement import (
    Due,
    Pricing,
    Settlement,
    load_pricing,
    lock_due,
    read_due,
    settle,
)
from greenbank.errors import GreenbankError, ValidationFailed

log = logging.getLogger(__name__)

BATCH_SIZE = 1_000
RUNNERS = 2
RUN_AFTER_MIDNIGHT = time(0, 5)  # Shanghai time: the day's rates are posted by then


class MaturityDateInFuture(ValidationFailed):
    code = "maturity_date_in_future"
    title = "The maturity job runs for today or an earlier day, never a later one"


@dataclass
class MaturityReport:
    business_date: date
    processed: int = 0
    rolled_over: int = 0
    returned: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (holding id, error code)

    def merge(self, other: MaturityReport) -> None:
        """Add another runner's figures; a holding both runners failed on counts once."""
        self.processed += other.processed
        self.rolled_over += other.rolled_over
        self.returned += other.returned
        self.failures = sorted(set(self.failures) | set(other.failures))

    def count(self, result: Settlement) -> None:
        self.rolled_over += len(result.rolled)
        self.returned += len(result.closed)
        self.processed += len(result.rolled) + len(result.closed)
        self.failures.extend(result.failures)


def _run_row(session: Session, on: date, now: datetime) -> MaturityRun:
    """The day's run row, locked; created first if missing. Two runs that finish together (two
    servers' schedulers, or the CLI beside one) then add to one row (``db.locked_row``)."""
    first = {"runs": 0, "processed": 0, "rolled_over": 0, "returned": 0, "failed": 0}
    return locked_row(session, MaturityRun, {"business_date": on}, started_at=now, **first)


def _record_run(uow_factory: UowFactory, clock: Clock, report: MaturityReport) -> None:
    def attempt() -> None:
        with uow_factory() as unit:
            run = _run_row(unit.session, report.business_date, clock.now())
            run.runs += 1
            run.processed += report.processed
            run.rolled_over += report.rolled_over
            run.returned += report.returned
            run.failed = len(report.failures)
            run.last_error = "; ".join(f"{h}:{c}" for h, c in report.failures[:20]) or None
            run.finished_at = clock.now()
            unit.commit()

    run_with_retry(attempt)


def _one_batch(
    uow_factory: UowFactory,
    clock: Clock,
    pricing: Pricing,
    on: date,
    after: tuple[date, str] | None,
    size: int,
    receipting: Receipting | None,
) -> tuple[list[Due], Settlement | None]:
    """Settle the next batch in one transaction: (the batch read, its settlement or None if
    the ledger refused it)."""
    with uow_factory() as unit:
        dues = read_due(unit.session, on=on, after=after, limit=size)
        if not dues:
            return dues, None
        try:
            result = settle(unit.session, clock, dues, pricing, on, receipting)
        except GreenbankError as err:
            log.warning("maturity batch refused (%s); settling one by one", err.code)
            return dues, None
        unit.commit()
        return dues, result


def _one_by_one(
    uow_factory: UowFactory,
    clock: Clock,
    pricing: Pricing,
    on: date,
    dues: list[Due],
    receipting: Receipting | None,
) -> Settlement:
    merged = Settlement(on, clock.now())
    for due in dues:
        try:
            with uow_factory() as unit:
                locked = lock_due(unit.session, due.id, on=on)
                result = settle(unit.session, clock, locked, pricing, on, receipting)
                unit.commit()
        except GreenbankError as err:
            merged.failures.append((due.id, err.code))
            continue
        merged.absorb(result)
    return merged


def _walk(
    uow_factory: UowFactory,
    clock: Clock,
    pricing: Pricing,
    on: date,
    size: int,
    receipting: Receipting | None,
) -> MaturityReport:
    """One runner: batch after batch in (maturity, id) order until nothing is due."""
    report = MaturityReport(on)
    after: tuple[date, str] | None = None
    while True:
        batch = partial(_one_batch, uow_factory, clock, pricing, on, after, size, receipting)
        dues, result = run_with_retry(batch)
        if not dues:
            return report
        if result is None:
            result = _one_by_one(uow_factory, clock, pricing, on, dues, receipting)
        report.count(result)
        after = (dues[-1].maturity, dues[-1].id)


def run_maturity(
    *,
    uow_factory: UowFactory,
    clock: Clock,
    on: date,
    batch_size: int = BATCH_SIZE,
    runners: int = RUNNERS,
    receipting: Receipting | None = None,
) -> MaturityReport:
    """Settle every active holding with a maturity on or before ``on`` (today or earlier),
    issuing each one's interest and maturity receipts when ``receipting`` is given.

    ``runners`` threads share the work: each skips the batches another has locked, so one
    plans in Python while another waits on the database.
    """
    today = business_date(clock.now())
    if on > today:
        raise MaturityDateInFuture(on=on.isoformat(), today=today.isoformat())
    with uow_factory() as unit:
        pricing = load_pricing(unit.session)
    walk = partial(_walk, uow_factory, clock, pricing, on, batch_size, receipting)
    with ThreadPoolExecutor(runners, thread_name_prefix="maturity") as pool:
        parts = [pool.submit(walk) for _ in range(runners)]
        report = MaturityReport(on)
        for part in parts:
            report.merge(part.result())
    _record_run(uow_factory, clock, report)
    log.info(
        "maturity run %s: %d settled (%d rolled over, %d returned), %d failed",
        on,
        report.processed,
        report.rolled_over,
        report.returned,
        len(report.failures),
    )
    return report


def next_run_at(now: datetime) -> datetime:
    """The next 00:05 Shanghai time strictly after ``now`` (UTC-aware in, UTC-aware out)."""
    local = now.astimezone(SHANGHAI)
    candidate = datetime.combine(local.date(), RUN_AFTER_MIDNIGHT, SHANGHAI)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), RUN_AFTER_MIDNIGHT, SHANGHAI)
    return candidate.astimezone(now.tzinfo)


class MaturityScheduler:
    """A daemon thread that runs the job at start-up (catch-up) and once per business day.

    Several server processes may each run one: the job locks what it settles and skips what
    another runner holds, so the work is shared, never doubled.
    """

    def __init__(
        self, uow_factory: UowFactory, clock: Clock, receipting: Receipting | None = None
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._receipting = receipting
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="deposits-maturity", daemon=True)

    def start(self) -> MaturityScheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = self._clock.now()
            try:
                run_maturity(
                    uow_factory=self._uow_factory,
                    clock=self._clock,
                    on=business_date(now),
                    receipting=self._receipting,
                )
            except Exception:  # a failed run must not kill the thread; the next run catches up
                log.exception("maturity run failed")
            wait = (next_run_at(now) - self._clock.now()).total_seconds()
            self._stop.wait(max(wait, 1.0))


def start_maturity_scheduler(container: Container) -> MaturityScheduler | None:
    """The server's scheduler, if ``deposits_maturity_scheduler`` allows it (unset: on, except
    in the test environment)."""
    enabled = container.settings.deposits_maturity_scheduler
    if enabled is None:
        enabled = container.settings.environment is not Environment.TEST
    if not enabled:
        return None
    receipting = maturity_receipting(container)
    return MaturityScheduler(container.uow, container.clock, receipting).start()
