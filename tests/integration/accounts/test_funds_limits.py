"""The 10,000 CNY/day and 200,000 CNY/year non-bound counters: off in this product, and
working when switched on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from funds_support import OTHER_CARD, World, assert_ledger_clean

from greenbank.accounts import funds_limits
from greenbank.accounts.funds_errors import NonBoundLimitExceeded, NotBoundCard
from greenbank.accounts.funds_policy import FundsPolicy
from greenbank.bootstrap import Container

ON = FundsPolicy(non_bound_enabled=True)


def _used(world: World, direction: str) -> dict[str, int]:
    with world.container.uow() as uow:
        return funds_limits.used(
            uow.session, customer_id=world.customer_id, direction=direction, at=world.clock.now()
        )


def test_non_bound_flows_are_refused_while_the_setting_is_off(container: Container) -> None:
    world = World.open(container)
    assert world.rt.policy.non_bound_enabled is False
    with pytest.raises(NotBoundCard):
        world.top_up(100, card_number=OTHER_CARD)
    assert _used(world, "in") == {}


def test_the_daily_limit_counts_non_bound_money_and_leaves_the_bound_card_alone(
    container: Container,
) -> None:
    world = World.open(container, policy=ON)
    world.top_up(600_000, card_number=OTHER_CARD)
    world.top_up(400_000, card_number=OTHER_CARD)  # exactly 10,000.00 CNY today
    assert _used(world, "in") == {"2026-03-02": 1_000_000, "2026": 1_000_000}
    with pytest.raises(NonBoundLimitExceeded) as refused:
        world.top_up(1, card_number=OTHER_CARD)
    assert refused.value.extra["period"] == "2026-03-02"
    world.top_up(5_000_000)  # the bound card is exempt from the counters
    assert _used(world, "in")["2026-03-02"] == 1_000_000
    world.settle()
    world.withdraw(500_000, card_number=OTHER_CARD)  # the out direction has its own counter
    assert _used(world, "out") == {"2026-03-02": 500_000, "2026": 500_000}
    world.clock.advance(timedelta(days=1))
    world.top_up(1_000_000, card_number=OTHER_CARD)  # a new day
    world.settle()
    assert world.balance().balance_fen == 6_500_000  # 60,000 in, 5,000 out, 10,000 in
    assert_ledger_clean(container)


def test_a_failed_non_bound_transfer_gives_its_amount_back(container: Container) -> None:
    world = World.open(container, policy=ON)
    world.top_up(300_099, card_number=OTHER_CARD)  # declined by the sandbox
    assert _used(world, "in")["2026-03-02"] == 300_099
    (failed,) = world.settle()
    assert (failed.status, failed.bound_card) == ("failed", False)
    assert _used(world, "in") == {"2026-03-02": 0, "2026": 0}


def test_the_yearly_limit_binds_across_days(container: Container) -> None:
    policy = FundsPolicy(non_bound_enabled=True, non_bound_yearly_fen=1_500_000)
    world = World.open(container, policy=policy)
    world.top_up(1_000_000, card_number=OTHER_CARD)
    world.clock.advance(timedelta(days=1))
    with pytest.raises(NonBoundLimitExceeded) as refused:
        world.top_up(600_000, card_number=OTHER_CARD)
    assert refused.value.extra == {"period": "2026", "used_fen": 1_000_000, "limit_fen": 1_500_000}
    assert world.top_up(500_000, card_number=OTHER_CARD).card_masked == "6222 02** **** ***3 445"
