"""Worked examples for the anti-fraud decision (accounts.risk.assess)."""

from __future__ import annotations

from datetime import date

import pytest

from greenbank.accounts.risk import Decision, RiskFacts, VelocityLimits, assess
from greenbank.customers.cards import lookup_bin
from greenbank.customers.identity import parse_id_number
from greenbank.customers.region import RegionDecision, RegionPolicy

GD = RegionPolicy({"44"})
ON = date(2026, 3, 2)
LIMITS = VelocityLimits(per_device=3, per_ip=20, per_id_number=3)


def region(id_number: str, address: str, mobile: str) -> RegionDecision:
    return GD.evaluate(
        id_number=parse_id_number(id_number, on=ON),
        id_address=address,
        mobile=mobile,
        card_bin=lookup_bin("6222020000000000018"),
    )


IN = region("440106199003071231", "广东省广州市天河区", "13926261234")
MOVED = region("11010519491231002X", "广东省广州市越秀区", "13902212345")
AWAY = region("510107199208156786", "四川省成都市", "13512345670")


def decide(**changes: object) -> tuple[Decision, tuple[str, ...], str | None]:
    facts = RiskFacts(**{"age": 36, "region": IN, **changes})  # type: ignore[arg-type]
    decision = assess(facts, LIMITS, min_age=16, max_age=None)
    return decision.decision, decision.reasons, decision.refusal_code


def test_a_clean_application_is_approved() -> None:
    assert decide() == (Decision.APPROVE, ("all_checks_passed",), None)


def test_region_outside_with_two_signals_goes_to_review() -> None:
    assert decide(region=MOVED) == (
        Decision.REVIEW,
        ("id_number_outside_region", "id_address_in_region", "mobile_in_region"),
        None,
    )


def test_region_outside_without_signals_is_refused() -> None:
    assert decide(region=AWAY)[::2] == (Decision.REFUSE, "region_not_served")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"blacklisted": ("card",)}, "blacklisted"),
        ({"age": 15}, "age_not_allowed"),
        ({"id_number_count": 4}, "velocity_exceeded"),
    ],
)
def test_refusals(changes: dict[str, object], code: str) -> None:
    assert decide(**changes)[::2] == (Decision.REFUSE, code)


def test_the_most_serious_refusal_wins_over_reviews() -> None:
    decision, reasons, code = decide(blacklisted=("device", "ip"), region=AWAY, device_count=9)
    assert (decision, code) == (Decision.REFUSE, "blacklisted")
    assert reasons == ("blacklisted_device", "blacklisted_ip")


def test_limits_are_inclusive_and_reviews_accumulate() -> None:
    assert decide(device_count=3, ip_count=20, id_number_count=3)[0] is Decision.APPROVE
    assert decide(device_count=4, ip_count=21, device_known=False, card_needs_review=True) == (
        Decision.REVIEW,
        ("device_velocity", "ip_velocity", "device_unknown", "card_bin_unknown"),
        None,
    )


def test_maximum_age_is_a_setting() -> None:
    facts = RiskFacts(age=71, region=IN)
    assert assess(facts, LIMITS, min_age=16, max_age=70).refusal_code == "age_not_allowed"
    assert assess(facts, LIMITS, min_age=16, max_age=None).decision is Decision.APPROVE
