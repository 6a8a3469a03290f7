"""AML rules with hand-computed worked examples (times are UTC; business dates Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from greenbank.accounts.aml import (
    AlertRule,
    AmlRules,
    DailyTotals,
    Flow,
    FlowDirection,
    FlowKind,
    daily_totals,
    just_under_threshold,
    large_value,
    rapid_in_out,
    screen,
    shared_devices,
)

RULES = AmlRules()
DAY = date(2026, 3, 2)
MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
IN, OUT = FlowDirection.IN, FlowDirection.OUT
_seq = iter(range(1_000_000))


def flow(
    amount_fen: int,
    direction: FlowDirection = IN,
    *,
    at: datetime = MORNING,
    kind: FlowKind = FlowKind.BOUND_CARD,
    customer: str = "c1",
) -> Flow:
    return Flow(customer, direction, kind, amount_fen, at, f"ref-{next(_seq)}")


def test_daily_totals_split_by_customer_day_and_direction() -> None:
    late = datetime(2026, 3, 2, 16, 30, tzinfo=UTC)  # 00:30 on 3 March in Shanghai
    totals = daily_totals(
        [flow(10_000), flow(2_500), flow(4_000, OUT), flow(1, customer="c2"), flow(7, at=late)]
    )
    assert totals == [
        DailyTotals("c1", DAY, in_fen=12_500, out_fen=4_000, in_count=2, out_count=1),
        DailyTotals("c1", date(2026, 3, 3), in_fen=7, in_count=1),
        DailyTotals("c2", DAY, in_fen=1, in_count=1),
    ]


def test_bound_card_top_ups_of_500000_cny_in_a_day_are_large_value() -> None:
    # 300,000 + 200,000 CNY in; 499,999.99 CNY out stays below the line.
    flows = [flow(30_000_000), flow(20_000_000), flow(49_999_999, OUT)]
    (alert,) = large_value(flows, on=DAY, rules=RULES)
    assert (alert.rule, alert.customer_id, alert.amount_fen) == (
        AlertRule.LARGE_TRANSFER,
        "c1",
        50_000_000,
    )
    assert alert.detail["direction"] == "in"
    assert alert.dedupe_key == "large_value_transfer:c1:in:2026-03-02"


def test_rollovers_and_demand_time_conversions_are_exempt() -> None:
    flows = [
        flow(40_000_000),
        flow(60_000_000, kind=FlowKind.ROLLOVER),
        flow(60_000_000, OUT, kind=FlowKind.DEMAND_TIME),
    ]
    assert large_value(flows, on=DAY, rules=RULES) == []


def test_cash_has_its_own_lower_threshold() -> None:
    (alert,) = large_value([flow(5_000_000, kind=FlowKind.CASH)], on=DAY, rules=RULES)
    assert alert.rule is AlertRule.LARGE_CASH
    assert large_value([flow(4_999_999, kind=FlowKind.CASH)], on=DAY, rules=RULES) == []


def test_only_the_screened_day_counts_and_the_thresholds_are_settings() -> None:
    yesterday = MORNING - timedelta(days=1)
    assert large_value([flow(50_000_000, at=yesterday)], on=DAY, rules=RULES) == []
    strict = AmlRules(large_transfer_fen=100_000)
    assert len(large_value([flow(100_000)], on=DAY, rules=strict)) == 1


def test_money_in_and_straight_back_out_is_suspicious() -> None:
    # 20,000 CNY in at 09:00, 19,000 CNY out at 15:00: 95 % within 6 hours.
    inflow = flow(2_000_000)
    out = flow(1_900_000, OUT, at=MORNING + timedelta(hours=6))
    (alert,) = rapid_in_out([inflow, out], on=DAY, rules=RULES)
    assert alert.rule is AlertRule.RAPID_IN_OUT
    assert alert.detail == {
        "in_reference": inflow.reference,
        "in_fen": 2_000_000,
        "out_reference": out.reference,
        "minutes_between": 360,
    }


def test_rapid_in_out_needs_a_large_in_flow_most_of_it_out_and_inside_the_window() -> None:
    six_hours = MORNING + timedelta(hours=6)
    small = [flow(999_999), flow(999_999, OUT, at=six_hours)]  # under 10,000 CNY
    part = [flow(2_000_000), flow(1_599_999, OUT, at=six_hours)]  # 79.99 %
    slow = [flow(2_000_000), flow(2_000_000, OUT, at=MORNING + timedelta(hours=24, seconds=1))]
    before = [flow(2_000_000, OUT), flow(2_000_000, at=six_hours)]  # out came first
    for flows in (small, part, before):
        assert rapid_in_out(flows, on=DAY, rules=RULES) == []
    assert rapid_in_out(slow, on=date(2026, 3, 3), rules=RULES) == []
    exactly = [flow(2_000_000), flow(1_600_000, OUT, at=MORNING + timedelta(hours=24))]
    assert len(rapid_in_out(exactly, on=date(2026, 3, 3), rules=RULES)) == 1


def test_one_rapid_alert_per_customer_and_day() -> None:
    flows = [flow(2_000_000), flow(2_000_000, OUT), flow(2_000_000), flow(2_000_000, OUT)]
    assert len(rapid_in_out(flows, on=DAY, rules=RULES)) == 1


def test_repeated_amounts_just_under_50000_cny_are_flagged() -> None:
    # 49,000.00, 49,999.99 and 49,500.00 CNY over five days; 50,000.00 is not "just under".
    flows = [
        flow(4_900_000, at=MORNING - timedelta(days=4)),
        flow(4_999_999, OUT, at=MORNING - timedelta(days=2)),
        flow(5_000_000, at=MORNING - timedelta(days=1)),
        flow(4_950_000),
    ]
    (alert,) = just_under_threshold(flows, on=DAY, rules=RULES)
    assert (alert.rule, alert.amount_fen, alert.detail["count"]) == (
        AlertRule.STRUCTURING,
        14_849_999,
        3,
    )


def test_just_under_needs_enough_hits_inside_the_window_and_one_on_the_day() -> None:
    old = MORNING - timedelta(days=7)  # 09:00 on 23 Feb: outside the 7 days ending 2 Mar
    two_in_window = [flow(4_900_000, at=old), flow(4_900_000), flow(4_900_000)]
    assert just_under_threshold(two_in_window, on=DAY, rules=RULES) == []
    earlier = [flow(4_900_000, at=MORNING - timedelta(days=n)) for n in (1, 2, 3)]
    assert just_under_threshold(earlier, on=DAY, rules=RULES) == []
    assert len(just_under_threshold(earlier, on=date(2026, 3, 1), rules=RULES)) == 1


def test_three_customers_on_one_device_is_an_alert_two_are_not() -> None:
    devices = {"dev-a": ["c1", "c2", "c3", "c1"], "dev-b": ["c4", "c5"]}
    (alert,) = shared_devices(devices, on=DAY, rules=RULES)
    assert alert.subject == "device:dev-a"
    assert alert.detail["customer_ids"] == ["c1", "c2", "c3"]
    assert alert.customer_id is None


def test_screen_runs_every_rule() -> None:
    flows = [flow(50_000_000), flow(45_000_000, OUT, at=MORNING + timedelta(hours=1))]
    rules = {a.rule for a in screen(flows, on=DAY, rules=RULES, devices={"d": ["a", "b", "c"]})}
    assert rules == {AlertRule.LARGE_TRANSFER, AlertRule.RAPID_IN_OUT, AlertRule.SHARED_DEVICE}


amounts = st.integers(min_value=1, max_value=10**9)


@given(st.lists(st.tuples(amounts, st.sampled_from([IN, OUT])), max_size=30))
def test_daily_totals_keep_every_fen_and_every_flow(items: list[tuple[int, FlowDirection]]) -> None:
    flows = [flow(amount, direction) for amount, direction in items]
    totals = daily_totals(flows)
    assert sum(t.in_fen + t.out_fen for t in totals) == sum(a for a, _ in items)
    assert sum(t.in_count + t.out_count for t in totals) == len(items)
