"""The maturity planner is pure: worked examples for returns, rollover chains and failures, and
the scheduler's next run time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from greenbank.deposits.domain import RateHistory, Term, percent
from greenbank.deposits.holdings_models import MaturityOption, PayoutKind
from greenbank.deposits.interest import Holding
from greenbank.deposits.maturity import next_run_at
from greenbank.deposits.settlement import Due, Pricing, plan
from greenbank.errors import InvalidIdempotencyKey
from greenbank.idempotency import check_key, fingerprint

NOW = datetime(2027, 3, 12, 2, tzinfo=UTC)
PRICING = Pricing(
    demand=RateHistory([(date(2026, 1, 1), percent("0.30"))]),
    products={
        "p3m": RateHistory(
            [(date(2026, 1, 1), percent("1.15")), (date(2026, 5, 1), percent("1.00"))]
        )
    },
)


def due(
    option: MaturityOption, *, term: Term = Term.Y1, product: str = "p3m", hid: str = "h1"
) -> Due:
    contract = Holding(1_000_000, percent("1.50"), date(2026, 3, 2), term)
    return Due(hid, "c1", product, contract, contract.maturity, option, 0)


def test_a_late_return_pays_term_and_demand_interest_to_the_customer() -> None:
    result = plan([due(MaturityOption.RETURN_TO_BALANCE)], PRICING, on=date(2027, 3, 12), now=NOW)
    # 1,000,000 x 1.50% = 15,000; 10 days at 0.30%: 83.33 -> 83
    (payout,) = result.payouts
    assert (payout["kind"], payout["interest_fen"], payout["principal_fen"]) == (
        PayoutKind.MATURITY,
        15_083,
        1_000_000,
    )
    assert [line["interest_fen"] for line in payout["lines"]] == [15_000, 83]
    assert dict(result.return_legs) == {"holding:h1": 1_000_000, "customer:c1:class2": -1_015_083}
    assert result.return_interest == 15_083
    assert sum(result.return_legs.values()) + result.return_interest == 0


def test_a_catch_up_rollover_renews_at_each_maturity_dates_rate() -> None:
    holding = due(MaturityOption.ROLLOVER, term=Term.M3)
    holding = Due(
        holding.id,
        holding.customer_id,
        holding.product_id,
        Holding(1_000_000, percent("1.15"), date(2026, 3, 2), Term.M3),
        date(2026, 6, 2),
        holding.option,
        0,
    )
    result = plan([holding], PRICING, on=date(2026, 9, 10), now=NOW)
    assert [(p["cycle"], p["interest_fen"], p["remaining_fen"]) for p in result.payouts] == [
        (0, 2_875, 1_002_875),  # 1,000,000 x 1.15% / 4
        (1, 2_507, 1_005_382),  # 1,002,875 x 1.00% / 4 = 2,507.19
    ]
    (row,) = result.rolled
    assert (row["principal_fen"], row["rate"], row["maturity_date"], row["cycle"]) == (
        1_005_382,
        "0.01",
        date(2026, 12, 2),
        2,
    )
    assert result.rollover_legs == {"holding:h1": -5_382}
    assert result.rollover_interest == 5_382


def test_a_holding_the_engine_refuses_is_a_failure_not_a_stop() -> None:
    unpriced = due(MaturityOption.ROLLOVER, product="p-none", hid="bad")
    unpriced_pricing = Pricing(PRICING.demand, {**PRICING.products, "p-none": RateHistory([])})
    good = due(MaturityOption.RETURN_TO_BALANCE, hid="good")
    result = plan([unpriced, good], unpriced_pricing, on=date(2027, 3, 2), now=NOW)
    assert result.failures == [("bad", "rate_not_posted")]
    assert result.closed == ["good"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 2026-03-02 09:30 Beijing -> 2026-03-03 00:05 Beijing (16:05 UTC the day before)
        (datetime(2026, 3, 2, 1, 30, tzinfo=UTC), datetime(2026, 3, 2, 16, 5, tzinfo=UTC)),
        # 00:01 Beijing -> 00:05 the same day
        (datetime(2026, 3, 1, 16, 1, tzinfo=UTC), datetime(2026, 3, 1, 16, 5, tzinfo=UTC)),
        # exactly 00:05 -> the next day
        (datetime(2026, 3, 1, 16, 5, tzinfo=UTC), datetime(2026, 3, 2, 16, 5, tzinfo=UTC)),
    ],
)
def test_the_scheduler_runs_just_after_midnight_in_shanghai(
    now: datetime, expected: datetime
) -> None:
    assert next_run_at(now) == expected


def test_idempotency_keys_and_fingerprints() -> None:
    assert check_key("  abc ") == "abc"
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidIdempotencyKey):
            check_key(bad)
    assert fingerprint(a=1, b=Decimal("1.5")) == fingerprint(b=Decimal("1.5"), a=1)
    assert fingerprint(a=1) != fingerprint(a=2)
