"""Points, levels and the trees-equivalent shown on the green life card.

Points are whole numbers; the milligrams that do not yet make a whole point are carried to the
next credit, so a customer never loses a reduction to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from functools import cached_property
from itertools import pairwise

from greenbank.carbon.methodology import Status
from greenbank.errors import ValidationFailed

DEFAULT_MG_PER_POINT = 10_000  # 1 point per 10 g CO2e (a product setting)
MG_PER_KG = 1_000_000


class PointsRuleInvalid(ValidationFailed):
    code = "points_rule_invalid"
    title = "The points rule or amounts are not valid"


def award_points(carried_mg: int, credited_mg: int, mg_per_point: int) -> tuple[int, int]:
    """Whole points for ``carried_mg + credited_mg``; returns (points, new_carried_mg)."""
    if mg_per_point <= 0:
        raise PointsRuleInvalid("mg_per_point must be positive")
    if carried_mg < 0 or credited_mg < 0:
        raise PointsRuleInvalid("carried and credited milligrams must not be negative")
    points, carried = divmod(carried_mg + credited_mg, mg_per_point)
    return points, carried


@dataclass(frozen=True)
class Level:
    code: str
    name: str
    min_kg: Decimal  # lifetime reduction needed to reach the level

    @cached_property
    def min_mg(self) -> int:
        return int(self.min_kg * MG_PER_KG)


# Product defaults, not from a source; a bank may configure its own table.
DEFAULT_LEVELS: tuple[Level, ...] = (
    Level("sprout", "绿芽", Decimal(0)),
    Level("leaf", "绿叶", Decimal(10)),
    Level("tree", "绿树", Decimal(100)),
    Level("forest", "森林", Decimal(1000)),
)


@dataclass(frozen=True)
class LevelStatus:
    level: Level
    next_level: Level | None
    mg_to_next: int  # 0 at the top level


def check_levels(levels: Sequence[Level]) -> list[str]:
    """Problems with a level table: it must start at 0 kg and rise strictly."""
    if not levels:
        return ["the level table is empty"]
    problems = [] if levels[0].min_kg == 0 else ["the first level must start at 0 kg"]
    for lower, higher in pairwise(levels):
        if higher.min_kg <= lower.min_kg:
            problems.append(f"{higher.code} must need more than {lower.code}")
    return problems


def level_for(lifetime_mg: int, levels: Sequence[Level] = DEFAULT_LEVELS) -> LevelStatus:
    """The level a lifetime reduction has reached, and how far the next one is."""
    if levels is not DEFAULT_LEVELS:  # the default table is checked once, at import
        _require_valid(levels)
    reached = [index for index, level in enumerate(levels) if lifetime_mg >= level.min_mg]
    index = reached[-1] if reached else 0
    following = levels[index + 1] if index + 1 < len(levels) else None
    to_next = max(0, following.min_mg - lifetime_mg) if following else 0
    return LevelStatus(levels[index], following, to_next)


def _require_valid(levels: Sequence[Level]) -> None:
    problems = check_levels(levels)
    if problems:
        raise PointsRuleInvalid("; ".join(problems))


_require_valid(DEFAULT_LEVELS)


@dataclass(frozen=True)
class TreeFactor:
    kg_co2_per_tree: Decimal
    status: Status
    source: str


# The shared data file gives no tree factor, so this one is provisional and labelled as such.
TREE_FACTOR = TreeFactor(
    kg_co2_per_tree=Decimal(60),
    status=Status.PROVISIONAL,
    source=(
        "US EPA Greenhouse Gas Equivalencies Calculator: one urban tree seedling grown for "
        "10 years sequesters about 0.060 t CO2 (secondary citation; a US urban-tree figure, "
        "no Chinese published value found)"
    ),
)


def trees_equivalent(co2e_mg: int, factor: TreeFactor = TREE_FACTOR) -> Decimal:
    """Trees (10-year seedlings) equivalent to ``co2e_mg``, to two decimals, rounded down."""
    trees = Decimal(co2e_mg) / (factor.kg_co2_per_tree * MG_PER_KG)
    return trees.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
