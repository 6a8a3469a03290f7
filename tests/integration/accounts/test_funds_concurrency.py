"""Real concurrent clients on PostgreSQL: racing withdrawals never overdraw, a key moves money
once, and settlements racing with each other book each transfer once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from funds_support import World, assert_ledger_clean
from sqlalchemy import func, select

from greenbank.accounts.funds_models import FundTransfer
from greenbank.accounts.settlement import settle_due
from greenbank.bootstrap import Container
from greenbank.errors import GreenbankError

pytestmark = pytest.mark.postgres_only

WORKERS = 16


def _race(fn: Callable[[int], str], count: int = WORKERS) -> list[str]:
    """Run ``fn(n)`` in ``count`` threads released together: its result or the error code."""
    gate = threading.Barrier(count)

    def one(n: int) -> str:
        gate.wait()
        try:
            return fn(n)
        except GreenbankError as err:
            return err.code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_sixteen_concurrent_withdrawals_never_overdraw(container: Container) -> None:
    world = World.open(container)
    world.funded(100_000)  # room for exactly 10 of the 16 withdrawals of 10,000 fen
    outcomes = Counter(_race(lambda n: world.withdraw(10_000, key=f"w{n}").status))
    assert outcomes == {"processing": 10, "insufficient_funds": 6}
    assert world.balance().available_fen == 0
    settled = Counter(t.status for t in world.settle())
    assert settled == {"settled": 10}
    after = world.balance()
    assert (after.balance_fen, after.held_fen) == (0, 0)
    assert_ledger_clean(container)


def test_one_key_sent_sixteen_times_at_once_moves_money_once(container: Container) -> None:
    world = World.open(container)
    outcomes = _race(lambda n: world.top_up(10_000, key="same").status)
    assert set(outcomes) == {"processing"}
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(FundTransfer)) == 1
    world.settle()
    assert world.balance().balance_fen == 10_000
    assert_ledger_clean(container)


def test_settlement_sweeps_racing_each_other_book_each_transfer_once(container: Container) -> None:
    world = World.open(container)
    for n in range(8):
        world.top_up(1_000 + n, key=f"t{n}")
    world.clock.advance(world.rail.latency)
    outcomes = _race(lambda n: str(len(settle_due(container.uow, world.rt))), count=4)
    assert all(outcome.isdigit() for outcome in outcomes)  # no sweep failed
    assert world.balance().balance_fen == sum(1_000 + n for n in range(8))
    assert_ledger_clean(container)
