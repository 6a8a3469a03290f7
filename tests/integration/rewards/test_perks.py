"""Perk rules and the deposit rate bonus on both databases: maker-checker versions, repeatable
evaluation (event path and nightly run grant once), exports, and the bonus lifecycle — consumed
once, paid from marketing expense at maturity, forfeited or shrunk by early withdrawals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rewards_support import STAFF, carbon_customer
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.ledger import service as ledger
from greenbank.ledger.models import Entry as LedgerEntry
from greenbank.rewards import perks, rate_bonus
from greenbank.rewards.domain import PerkKind
from greenbank.rewards.models import RateBonus

BONUS: dict[str, Any] = {
    "code": "green_deposit_bonus",
    "kind": "rate_bonus",
    "conditions": [{"field": "level", "op": ">=", "value": "leaf"}],
    "params": {"bonus_rate": "0.0010", "max_amount_fen": 5_000_000},
    "valid_days": 30,
}
UPGRADE: dict[str, Any] = {
    "code": "forest_credit_upgrade",
    "kind": "credit_limit_upgrade",
    "conditions": [{"field": "points_earned", "op": ">=", "value": 1000}],
    "params": {"suggested_increase_fen": 1_000_000},
    "frequency": "once",
}


@dataclass
class GreenProduct:
    code: str = "TD-1Y"
    green: bool = True


def activate(container: Container, definition: dict[str, Any]) -> str:
    kw = {"uow": container.uow, "clock": container.clock}
    rule = perks.create_rule(**kw, definition=definition, by=STAFF)
    perks.submit_rule(**kw, rule_id=rule.id, by=STAFF)
    with pytest.raises(perks.MakerChecker):
        perks.approve_rule(**kw, rule_id=rule.id, by=STAFF)
    return perks.approve_rule(**kw, rule_id=rule.id, by="checker.wang").id


def test_versions_replace_each_other_and_only_active_rules_grant(container: Container) -> None:
    kw = {"uow": container.uow, "clock": container.clock}
    first = activate(container, BONUS)
    second = activate(container, {**BONUS, "params": {**BONUS["params"], "bonus_rate": "0.002"}})
    states = {r.id: (r.version, r.status) for r in perks.list_rules(uow=container.uow)}
    assert states == {first: (1, "retired"), second: (2, "active")}
    with pytest.raises(perks.RuleStateConflict):
        perks.submit_rule(**kw, rule_id=second, by=STAFF)
    draft = perks.create_rule(**kw, definition=UPGRADE, by=STAFF)  # never approved
    customer = carbon_customer(container, 5_000, level="leaf")
    granted = perks.evaluate_for(**kw, customer_id=customer)
    assert [(g.kind, g.rule_version, g.params["bonus_rate"]) for g in granted] == [
        ("rate_bonus", 2, "0.002")
    ]
    assert draft.status == "draft"


def test_event_path_and_nightly_run_grant_once(container: Container) -> None:
    kw = {"uow": container.uow, "clock": container.clock}
    activate(container, BONUS)
    activate(container, UPGRADE)
    rich = carbon_customer(container, 2_000, level="leaf")
    poor = carbon_customer(container, 10, level="sprout")
    assert len(perks.evaluate_for(**kw, customer_id=rich)) == 2
    run = perks.evaluate_all(**kw, batch=1)  # one customer per transaction
    assert (run.customers, run.granted, run.rules) == (2, 0, 2)
    assert perks.my_grants(**kw, customer_id=poor) == []
    today = container.clock.now().date()
    [upgrade] = perks.export_grants(
        uow=container.uow, kinds=[PerkKind.CREDIT_LIMIT_UPGRADE], on=today
    )
    assert (upgrade.customer_id, upgrade.params["suggested_increase_fen"]) == (rich, 1_000_000)
    later = today + timedelta(days=120)  # upgrade valid 30 days (default)
    assert (
        perks.export_grants(uow=container.uow, kinds=[PerkKind.CREDIT_LIMIT_UPGRADE], on=later)
        == []
    )


def bonus_for(container: Container, customer: str, amount_fen: int, product: Any = None) -> Any:
    with container.uow() as unit:
        return rate_bonus.find_applicable_rate_bonus(
            unit.session, customer, product or GreenProduct(), amount_fen, date(2026, 3, 2)
        )


def consume(container: Container, customer: str, coupon_id: str, holding_id: str) -> Any:
    with container.uow() as unit:
        out = rate_bonus.consume_rate_bonus(
            unit.session, coupon_id, holding_id, clock=container.clock, customer_id=customer,
            amount_fen=8_000_000, value_date=date(2026, 3, 2), maturity_date=date(2027, 3, 2),
        )  # fmt: skip
        unit.commit()
        return out


def test_rate_bonus_is_consumed_once_and_paid_from_marketing_expense(
    container: Container,
) -> None:
    activate(container, BONUS)
    customer = carbon_customer(container, 0, level="leaf")
    perks.evaluate_for(uow=container.uow, clock=container.clock, customer_id=customer)
    assert bonus_for(container, customer, 8_000_000, GreenProduct(green=False)) is None
    offer = bonus_for(container, customer, 8_000_000)
    assert (offer.bonus_rate, offer.principal_fen) == (Decimal("0.0010"), 5_000_000)
    used = consume(container, customer, offer.coupon_id, "holding-1")
    assert used.expected_fen == 5_000  # 5,000,000 x 0.10% x 1 year
    assert consume(container, customer, offer.coupon_id, "holding-1") == used  # a retry
    with pytest.raises(rate_bonus.RateBonusUnavailable):
        consume(container, customer, offer.coupon_id, "holding-2")
    assert bonus_for(container, customer, 8_000_000) is None
    with container.uow() as unit:
        ledger.ensure_chart_of_accounts(unit.session, clock=container.clock)
        ledger.open_customer_account(unit.session, clock=container.clock, customer_id=customer)
        paid = rate_bonus.pay_rate_bonus(
            unit.session, clock=container.clock, holding_id="holding-1"
        )
        assert paid is not None and paid.status == "paid"
        again = rate_bonus.pay_rate_bonus(
            unit.session, clock=container.clock, holding_id="holding-1"
        )
        assert again is None  # paid once
        unit.commit()
    with container.uow() as unit:
        spent = ledger.balance(
            unit.session, clock=container.clock, account=ledger.MARKETING_EXPENSE
        )
        code = ledger.customer_account_code(customer)
        mine = ledger.balance(unit.session, clock=container.clock, account=code)
        codes = unit.session.scalars(select(LedgerEntry.code)).all()
    assert (spent.balance_fen, mine.balance_fen, codes) == (5_000, 5_000, ["rate_bonus"])


def test_early_withdrawals_forfeit_or_shrink_the_bonus(container: Container) -> None:
    activate(container, BONUS)
    activate(container, {**BONUS, "code": "second_bonus"})
    customer = carbon_customer(container, 0, level="leaf")
    perks.evaluate_for(uow=container.uow, clock=container.clock, customer_id=customer)
    consume(container, customer, bonus_for(container, customer, 8_000_000).coupon_id, "h-full")
    consume(container, customer, bonus_for(container, customer, 8_000_000).coupon_id, "h-part")
    with container.uow() as unit:
        rate_bonus.forfeit_rate_bonus(unit.session, clock=container.clock, holding_id="h-full")
        rate_bonus.shrink_rate_bonus(unit.session, holding_id="h-part", remaining_fen=2_000_000)
        unit.commit()
    with container.uow() as unit:
        full = unit.session.get_one(RateBonus, "h-full")
        part = unit.session.get_one(RateBonus, "h-part")
        assert full.status == "forfeited"
        assert (part.principal_fen, part.expected_fen) == (2_000_000, 2_000)
