"""Real concurrent clients on PostgreSQL: guards hold, nothing is lost, a key posts once."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from ledger_harness import Books
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.errors import GreenbankError
from greenbank.ledger import commands, service
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.ledger.models import Entry
from greenbank.ledger.schemas import EntryOut

pytestmark = pytest.mark.postgres_only

WORKERS = 16
OPS_PER_WORKER = 25
HOT = 4


def _open_hot_accounts(container: Container) -> list[str]:
    return [
        commands.open_customer_account(
            uow_factory=container.uow, clock=container.clock, customer_id=f"hot{n}"
        ).code
        for n in range(HOT)
    ]


def test_random_transfers_among_hot_guarded_accounts(books: Books) -> None:
    c = books.container
    hot = _open_hot_accounts(c)
    seeded = 0
    for n, account in enumerate(hot):
        books.top_up(account, 5_000, f"seed{n}")
        seeded += 5_000

    def work(worker: int) -> tuple[int, int, int]:
        rng = random.Random(worker)
        inflow = posted = refused = 0
        for op in range(OPS_PER_WORKER):
            key = f"w{worker}-{op}"
            if rng.random() < 0.2:
                amount = rng.randint(1, 2_000)
                books.top_up(rng.choice(hot), amount, key)
                inflow += amount
                posted += 1
                continue
            source, target = rng.sample(hot, 2)
            spec = EntrySpec.transfer(
                code=EntryCode.ADJUSTMENT,
                idempotency_key=key,
                debit=source,
                credit=target,
                amount_fen=rng.randint(1, 4_000),
            )
            try:
                books.post(spec)
                posted += 1
            except GreenbankError as err:
                assert err.code == "insufficient_funds"
                refused += 1
        return inflow, posted, refused

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(work, range(WORKERS)))
    inflow = seeded + sum(r[0] for r in results)
    posted = HOT + sum(r[1] for r in results)
    assert sum(r[2] for r in results) > 0  # the guards were really exercised

    books.verify_clean()
    balances = [books.balance(account) for account in hot]
    assert min(balances) >= 0
    assert sum(balances) == inflow  # no lost update: money in equals money held
    assert books.balance(CARD_CLEARING) == inflow
    with c.uow() as uow:
        entries = uow.session.scalar(select(func.count()).select_from(Entry))
    assert entries == posted


def test_two_concurrent_requests_with_one_key_post_once(books: Books) -> None:
    c = books.container
    barrier = threading.Barrier(2)

    def request(_: int) -> EntryOut:
        barrier.wait()
        return books.top_up(books.alice, 700, "same-key")

    for _ in range(5):  # the race window is small; try it a few times
        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(request, range(2))
        assert first.id == second.id
        assert books.balance(books.alice) == 700
        with c.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Entry)) == 1
    books.verify_clean()


def test_the_loser_of_a_key_race_returns_the_winners_entry(books: Books) -> None:
    """Deterministic race: B checks the key before A commits, then waits on A's row locks."""
    c = books.container
    spec = EntrySpec.transfer(
        code=EntryCode.TOP_UP,
        idempotency_key="raced",
        debit=CARD_CLEARING,
        credit=books.alice,
        amount_fen=900,
    )
    with c.uow() as first:
        winner = service.post_entry(first.session, clock=c.clock, spec=spec)
        with ThreadPoolExecutor(1) as pool:
            loser = pool.submit(books.post, spec)  # blocks on the balance-row locks
            time.sleep(0.3)
            assert not loser.done()
            first.commit()
            result = loser.result(timeout=10)
    assert result.id == winner.id and result.replayed
    assert books.balance(books.alice) == 900
    books.verify_clean()
