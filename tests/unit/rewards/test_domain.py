"""Pure rewards rules: redemption checks, order states, the perks rules engine, quiz scoring."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.rewards.domain import (
    CouponCodesInvalid,
    CustomerLimitReached,
    IllegalOrderChange,
    ItemInvalid,
    ItemKind,
    ItemTerms,
    LevelTooLow,
    NotOnSale,
    OrderStatus,
    PerkKind,
    RuleInvalid,
    Shopper,
    Snapshot,
    bonus_principal,
    check_order_move,
    check_redemption,
    check_terms,
    clean_codes,
    daily_pick,
    evaluate,
    parse_rule,
    quiz_points,
)

LEVELS = ("sprout", "leaf", "tree", "forest")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def check(terms: ItemTerms, **kw: object) -> int:
    args: dict[str, object] = {
        "kind": ItemKind.GIFT, "status": "active", "now": NOW, "levels": LEVELS, "quantity": 1,
        "already": 0, "shopper": Shopper("leaf", 1_000), **kw,
    }  # fmt: skip
    return check_redemption(terms, **args)  # type: ignore[arg-type]


def test_redemption_costs_price_times_quantity() -> None:
    assert check(ItemTerms(300), quantity=3) == 900


def test_redemption_refusals() -> None:
    with pytest.raises(NotOnSale):
        check(ItemTerms(1), status="paused")
    with pytest.raises(NotOnSale):
        check(ItemTerms(1, sale_from=NOW + timedelta(seconds=1)))
    with pytest.raises(NotOnSale):  # the window's end is exclusive
        check(ItemTerms(1, sale_until=NOW))
    with pytest.raises(LevelTooLow):
        check(ItemTerms(1, min_level="tree"))
    assert check(ItemTerms(1, min_level="leaf")) == 1
    with pytest.raises(CustomerLimitReached):
        check(ItemTerms(1, per_customer_limit=2), already=1, quantity=2)
    with pytest.raises(ItemInvalid):
        check(ItemTerms(1), kind=ItemKind.COUPON, quantity=2)


def test_item_terms_are_checked() -> None:
    with pytest.raises(ItemInvalid) as err:
        check_terms(ItemTerms(0, 0, "gold", NOW, NOW), LEVELS)
    assert len(err.value.extra["problems"]) == 4


@pytest.mark.parametrize(
    ("kind", "start", "end", "ok"),
    [
        (ItemKind.GIFT, OrderStatus.CREATED, OrderStatus.SHIPPED, True),
        (ItemKind.GIFT, OrderStatus.SHIPPED, OrderStatus.FULFILLED, True),
        (ItemKind.GIFT, OrderStatus.CREATED, OrderStatus.CANCELLED, True),
        (ItemKind.GIFT, OrderStatus.SHIPPED, OrderStatus.CANCELLED, False),
        (ItemKind.COUPON, OrderStatus.CREATED, OrderStatus.SHIPPED, False),
        (ItemKind.COUPON, OrderStatus.FULFILLED, OrderStatus.CANCELLED, False),
        (ItemKind.GIFT, OrderStatus.CANCELLED, OrderStatus.CREATED, False),
    ],
)
def test_order_moves(kind: ItemKind, start: OrderStatus, end: OrderStatus, ok: bool) -> None:
    if ok:
        check_order_move(kind, start, end)
    else:
        with pytest.raises(IllegalOrderChange):
            check_order_move(kind, start, end)


def test_coupon_codes_are_cleaned_or_refused() -> None:
    assert clean_codes([" AB-1234 ", "", "CD-5678"]) == ["AB-1234", "CD-5678"]
    with pytest.raises(CouponCodesInvalid):
        clean_codes(["AB-1234", "AB-1234"])
    with pytest.raises(CouponCodesInvalid):
        clean_codes(["bad code!"])


BONUS = {
    "code": "green_deposit_bonus",
    "kind": "rate_bonus",
    "conditions": [
        {"field": "level", "op": ">=", "value": "leaf"},
        {"field": "lifetime_kg", "op": ">=", "value": 10},
    ],
    "params": {"bonus_rate": "0.0010", "max_amount_fen": 5_000_000},
    "valid_days": 30,
}


def snap(level: str = "leaf", lifetime_mg: int = 10_000_000, **kw: int) -> Snapshot:
    values = {"points_balance": 0, "points_earned": 0, "month_mg": 0, **kw}
    return Snapshot("c1", level, lifetime_mg, **values)


def test_a_rule_grants_a_right_for_a_period() -> None:
    rule = parse_rule(BONUS, LEVELS)
    assert rule.params == {"bonus_rate": Decimal("0.0010"), "max_amount_fen": 5_000_000}
    grant = evaluate(rule, snap(), date(2026, 3, 2), LEVELS)
    assert grant is not None
    assert (grant.kind, grant.valid_from, grant.valid_until) == (
        PerkKind.RATE_BONUS,
        date(2026, 3, 2),
        date(2026, 4, 1),
    )
    assert grant.grant_key == "green_deposit_bonus:c1:2026-03"
    assert evaluate(rule, snap(lifetime_mg=9_999_999), date(2026, 3, 2), LEVELS) is None
    assert evaluate(rule, snap(level="sprout"), date(2026, 3, 2), LEVELS) is None
    once = parse_rule({**BONUS, "frequency": "once"}, LEVELS)
    assert evaluate(once, snap(), date(2027, 1, 1), LEVELS).grant_key.endswith(":once")  # type: ignore[union-attr]


def test_a_bad_rule_lists_every_problem() -> None:
    bad = {
        "code": "X",
        "kind": "rate_bonus",
        "conditions": [{"field": "level", "op": ">=", "value": "gold"}],
        "params": {"bonus_rate": "0.05", "extra": 1},
        "valid_days": 0,
    }
    with pytest.raises(RuleInvalid) as err:
        parse_rule(bad, LEVELS)
    problems = err.value.extra["problems"]
    assert len(problems) == 7, problems  # code, level, no condition, extra, rate, cap, days
    with pytest.raises(RuleInvalid):
        parse_rule({**BONUS, "kind": "free_money"}, LEVELS)


def test_bonus_principal_is_capped() -> None:
    assert bonus_principal(5_000_000, 8_000_000) == 5_000_000
    assert bonus_principal(5_000_000, 1_000_000) == 1_000_000


def test_quiz_points_respect_the_daily_cap() -> None:
    assert quiz_points(True, 0, 5, 10) == 5
    assert quiz_points(True, 8, 5, 10) == 2
    assert quiz_points(True, 10, 5, 10) == 0
    assert quiz_points(False, 0, 5, 10) == 0


@given(st.lists(st.booleans(), max_size=30), st.integers(1, 20), st.integers(0, 50))
def test_a_day_of_answers_never_passes_the_cap(answers: list[bool], per: int, cap: int) -> None:
    earned = 0
    for correct in answers:
        earned += quiz_points(correct, earned, per, cap)
    assert 0 <= earned <= cap
    assert earned == min(cap, per * sum(answers))


def test_daily_pick_is_stable_per_customer_and_day() -> None:
    ids = [f"q{i}" for i in range(10)]
    today = daily_pick(ids, "c1", date(2026, 3, 2), 3)
    assert today == daily_pick(list(reversed(ids)), "c1", date(2026, 3, 2), 3)
    assert len(set(today)) == 3
    week = {tuple(daily_pick(ids, "c1", date(2026, 3, d), 3)) for d in range(2, 9)}
    assert len(week) > 1


def test_history_conditions_read_this_months_reduction_in_whole_kg() -> None:
    rule = parse_rule(
        {
            "code": "active_month",
            "kind": "payment_discount",
            "conditions": [{"field": "month_kg", "op": ">=", "value": 5}],
            "params": {"amount_off_fen": 500, "min_spend_fen": 5_000},
        },
        LEVELS,
    )
    assert evaluate(rule, snap(month_mg=5_000_000), date(2026, 3, 2), LEVELS) is not None
    assert evaluate(rule, snap(month_mg=4_999_999), date(2026, 3, 2), LEVELS) is None
