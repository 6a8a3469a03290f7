"""Points with a carried remainder, levels by lifetime reduction, trees-equivalent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from greenbank.carbon.methodology import Status
from greenbank.carbon.points import (
    DEFAULT_LEVELS,
    DEFAULT_MG_PER_POINT,
    TREE_FACTOR,
    Level,
    PointsRuleInvalid,
    TreeFactor,
    award_points,
    check_levels,
    level_for,
    trees_equivalent,
)


def test_points_carry_the_remainder() -> None:
    assert DEFAULT_MG_PER_POINT == 10_000
    points, carried = award_points(0, 583_750, 10_000)  # a 12.5 km metro trip
    assert (points, carried) == (58, 3_750)
    assert award_points(carried, 6_250, 10_000) == (1, 0)
    assert award_points(3_750, 0, 10_000) == (0, 3_750)
    assert award_points(9_999, 1, 10_000) == (1, 0)


def test_a_remainder_above_a_new_smaller_rule_is_paid_out() -> None:
    assert award_points(9_000, 0, 4_000) == (2, 1_000)


@pytest.mark.parametrize(
    ("carried", "credited", "per_point"), [(0, 1, 0), (0, 1, -5), (-1, 1, 10), (0, -1, 10)]
)
def test_points_refuse_bad_amounts(carried: int, credited: int, per_point: int) -> None:
    with pytest.raises(PointsRuleInvalid) as caught:
        award_points(carried, credited, per_point)
    assert caught.value.code == "points_rule_invalid"


@pytest.mark.parametrize(
    ("lifetime_mg", "code", "next_code", "to_next"),
    [
        (0, "sprout", "leaf", 10_000_000),
        (9_999_999, "sprout", "leaf", 1),
        (10_000_000, "leaf", "tree", 90_000_000),
        (999_999_999, "tree", "forest", 1),
        (1_000_000_000, "forest", None, 0),
        (5_000_000_000, "forest", None, 0),
    ],
)
def test_levels_by_lifetime_reduction(
    lifetime_mg: int, code: str, next_code: str | None, to_next: int
) -> None:
    status = level_for(lifetime_mg)
    assert status.level.code == code
    assert (status.next_level.code if status.next_level else None) == next_code
    assert status.mg_to_next == to_next


def test_default_level_names() -> None:
    assert [(lv.name, lv.min_kg) for lv in DEFAULT_LEVELS] == [
        ("绿芽", 0), ("绿叶", 10), ("绿树", 100), ("森林", 1000),
    ]  # fmt: skip


def test_level_tables_are_checked() -> None:
    assert check_levels(DEFAULT_LEVELS) == []
    assert check_levels([]) == ["the level table is empty"]
    bad = [Level("a", "A", Decimal(1)), Level("b", "B", Decimal(1))]
    assert check_levels(bad) == ["the first level must start at 0 kg", "b must need more than a"]
    with pytest.raises(PointsRuleInvalid):
        level_for(0, bad)
    custom = [Level("a", "A", Decimal(0)), Level("b", "B", Decimal("0.5"))]
    assert level_for(500_000, custom).level.code == "b"


def test_trees_equivalent_is_provisional_and_sourced() -> None:
    assert TREE_FACTOR.status is Status.PROVISIONAL
    assert "EPA" in TREE_FACTOR.source and "provisional" not in TREE_FACTOR.source.lower()
    assert trees_equivalent(60_000_000) == Decimal("1.00")  # 60 kg = one tree
    assert trees_equivalent(1_000_000) == Decimal("0.01")  # 1/60 rounded down
    assert trees_equivalent(0) == Decimal("0.00")
    other = TreeFactor(Decimal("18.3"), Status.PUBLISHED, "test")
    assert trees_equivalent(183_000_000, other) == Decimal("10.00")
