"""Pure rules of rights and incentives: catalogue items, redemption checks, order states, the
perks rules engine over a customer snapshot, the rate-bonus cap, and quiz scoring.

Nothing here touches a database: the services read rows, build the plain values below and ask.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from greenbank.errors import Conflict, ValidationFailed


class ItemInvalid(ValidationFailed):
    code = "reward_item_invalid"
    title = "The catalogue item is not valid"


class NotOnSale(Conflict):
    code = "reward_not_on_sale"
    title = "The item is not on sale now"


class OutOfStock(Conflict):
    code = "reward_out_of_stock"
    title = "The item is out of stock"


class LevelTooLow(Conflict):
    code = "reward_level_too_low"
    title = "The customer's carbon level is below the item's requirement"


class CustomerLimitReached(Conflict):
    code = "reward_customer_limit_reached"
    title = "The customer already redeemed this item as often as allowed"


class IllegalOrderChange(Conflict):
    code = "reward_order_illegal_change"
    title = "The order can not move to that state"


class RuleInvalid(ValidationFailed):
    code = "perk_rule_invalid"
    title = "The perk rule is not valid"


class CouponCodesInvalid(ValidationFailed):
    code = "coupon_codes_invalid"
    title = "The coupon codes are not valid"


class QuizAnswerInvalid(ValidationFailed):
    code = "quiz_answer_invalid"
    title = "The quiz answer is not valid"


# --- catalogue and redemption ------------------------------------------------------------------


class ItemKind(StrEnum):
    GIFT = "gift"  # physical: shipped
    COUPON = "coupon"  # a supplier's code is assigned; stock = codes imported and not assigned
    MEMBERSHIP = "membership"  # delivered by the partner


class ItemStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    RETIRED = "retired"


@dataclass(frozen=True)
class ItemTerms:
    """What staff set on an item (also a project's donation terms)."""

    points_price: int
    per_customer_limit: int | None = None
    min_level: str | None = None
    sale_from: datetime | None = None
    sale_until: datetime | None = None


def check_terms(terms: ItemTerms, levels: Sequence[str]) -> None:
    problems = []
    if terms.points_price <= 0:
        problems.append("points_price must be positive")
    if terms.per_customer_limit is not None and terms.per_customer_limit <= 0:
        problems.append("per_customer_limit must be positive (or absent for no limit)")
    if terms.min_level is not None and terms.min_level not in levels:
        problems.append(f"min_level must be one of {', '.join(levels)}")
    if terms.sale_from and terms.sale_until and terms.sale_until <= terms.sale_from:
        problems.append("sale_until must be after sale_from")
    if problems:
        raise ItemInvalid("; ".join(problems), problems=problems)


@dataclass(frozen=True)
class Shopper:
    level: str
    points_balance: int


def check_redemption(
    terms: ItemTerms,
    *,
    kind: ItemKind,
    status: str,
    now: datetime,
    shopper: Shopper,
    levels: Sequence[str],
    quantity: int,
    already: int,
) -> int:
    """Refuse a redemption the item's terms forbid; returns the points it costs.

    Stock is checked by the conditional decrement itself (never here, where it could be stale)
    and points by the carbon account under its lock.
    """
    if quantity <= 0 or (kind is not ItemKind.GIFT and quantity != 1):
        raise ItemInvalid("quantity must be positive, and 1 for coupons and memberships")
    if status != ItemStatus.ACTIVE:
        raise NotOnSale(status=status)
    if (terms.sale_from and now < terms.sale_from) or (
        terms.sale_until and now >= terms.sale_until
    ):
        raise NotOnSale("outside the item's sale window")
    if terms.min_level is not None and levels.index(shopper.level) < levels.index(terms.min_level):
        raise LevelTooLow(required=terms.min_level, level=shopper.level)
    limit = terms.per_customer_limit
    if limit is not None and already + quantity > limit:
        raise CustomerLimitReached(limit=limit, already=already)
    return terms.points_price * quantity


class OrderStatus(StrEnum):
    CREATED = "created"
    SHIPPED = "shipped"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


# Codes and memberships are fulfilled at once; a gift is shipped, then fulfilled on delivery.
# Only an order nothing has left the bank for can be cancelled (its points come back).
_MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CREATED: frozenset(
        {OrderStatus.SHIPPED, OrderStatus.FULFILLED, OrderStatus.CANCELLED}
    ),
    OrderStatus.SHIPPED: frozenset({OrderStatus.FULFILLED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def check_order_move(kind: ItemKind, current: OrderStatus, target: OrderStatus) -> None:
    if target not in _MOVES[current] or (target is OrderStatus.SHIPPED and kind != ItemKind.GIFT):
        raise IllegalOrderChange(f"{kind} order: {current} -> {target}", status=current.value)


def initial_status(kind: ItemKind) -> OrderStatus:
    return OrderStatus.CREATED if kind is ItemKind.GIFT else OrderStatus.FULFILLED


_CODE_RE = re.compile(r"^[A-Za-z0-9\-]{4,64}$")


def clean_codes(lines: Sequence[str]) -> list[str]:
    """Supplier codes, one per line: blanks skipped; malformed or repeated ones refuse the batch."""
    codes = [line.strip() for line in lines if line.strip()]
    bad = [c for c in codes if not _CODE_RE.fullmatch(c)]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if bad or repeated or not codes:
        raise CouponCodesInvalid(
            "codes are 4-64 letters, digits or '-', each once", bad=bad[:10], repeated=repeated[:10]
        )
    return codes


# --- perks: the rules engine -------------------------------------------------------------------


class PerkKind(StrEnum):
    RATE_BONUS = "rate_bonus"  # +x% on one green time-deposit purchase, up to an amount
    INSTALMENT_DISCOUNT = "instalment_discount"  # a card-system coupon code
    PAYMENT_DISCOUNT = "payment_discount"  # a card-system coupon code
    CREDIT_LIMIT_UPGRADE = "credit_limit_upgrade"  # eligibility, exported for the card system


CODED_KINDS = frozenset({PerkKind.INSTALMENT_DISCOUNT, PerkKind.PAYMENT_DISCOUNT})


@dataclass(frozen=True)
class Snapshot:
    """What the rules may look at: the customer's carbon level, score and history."""

    customer_id: str
    level: str
    lifetime_mg: int  # the score: lifetime reduction
    points_balance: int
    points_earned: int
    month_mg: int  # credited this business month

    def value(self, name: str, levels: Sequence[str]) -> int:
        if name == "level":
            return levels.index(self.level)
        if name in {"lifetime_kg", "month_kg"}:
            return int(getattr(self, name.replace("_kg", "_mg"))) // 1_000_000
        value: int = getattr(self, name)
        return value


FIELDS = ("level", "lifetime_kg", "month_kg", "points_balance", "points_earned")
OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}
FREQUENCIES = ("once", "monthly")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: int | str

    def holds(self, snap: Snapshot, levels: Sequence[str]) -> bool:
        target = levels.index(self.value) if self.field == "level" else self.value
        return bool(OPS[self.op](snap.value(self.field, levels), target))


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    kind: PerkKind
    conditions: tuple[Condition, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    valid_days: int = 30
    frequency: str = "monthly"


_PARAMS: dict[PerkKind, dict[str, type]] = {
    PerkKind.RATE_BONUS: {"bonus_rate": Decimal, "max_amount_fen": int},
    PerkKind.INSTALMENT_DISCOUNT: {"discount_percent": int, "max_instalments": int},
    PerkKind.PAYMENT_DISCOUNT: {"amount_off_fen": int, "min_spend_fen": int},
    PerkKind.CREDIT_LIMIT_UPGRADE: {"suggested_increase_fen": int},
}


def _param(kind: PerkKind, name: str, raw: Any, problems: list[str]) -> Any:
    wanted = _PARAMS[kind][name]
    try:
        value = Decimal(str(raw)) if wanted is Decimal else int(raw)
    except (InvalidOperation, TypeError, ValueError):
        problems.append(f"params.{name} must be a number")
        return None
    if value <= 0:
        problems.append(f"params.{name} must be positive")
    if name == "bonus_rate" and value >= Decimal("0.01"):
        problems.append("params.bonus_rate is a fraction below 0.01 (0.001 = +0.10%)")
    if name == "discount_percent" and value > 100:
        problems.append("params.discount_percent is at most 100")
    return value


def parse_rule(definition: Mapping[str, Any], levels: Sequence[str]) -> Rule:
    """A rule from its stored definition; every problem is listed at once."""
    problems: list[str] = []
    code = str(definition.get("code", ""))
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,39}", code):
        problems.append("code must be 3-40 lower-case letters, digits or '_'")
    try:
        kind = PerkKind(str(definition.get("kind")))
    except ValueError:
        raise RuleInvalid(f"kind must be one of {', '.join(PerkKind)}") from None
    conditions = []
    for raw in definition.get("conditions") or []:
        name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
        if name not in FIELDS or op not in OPS:
            problems.append(f"condition {raw!r}: field in {FIELDS}, op in {tuple(OPS)}")
        elif name == "level" and value not in levels:
            problems.append(f"condition on level: value must be one of {', '.join(levels)}")
        elif name != "level" and not isinstance(value, int):
            problems.append(f"condition on {name}: value must be an integer")
        else:
            conditions.append(Condition(name, op, value))
    if not conditions:
        problems.append("a rule needs at least one condition")
    given = dict(definition.get("params") or {})
    unknown = set(given) - set(_PARAMS[kind])
    problems += [f"unknown param {name!r} for {kind}" for name in sorted(unknown)]
    params = {n: _param(kind, n, given[n], problems) for n in _PARAMS[kind] if n in given}
    problems += [f"params.{n} is required" for n in _PARAMS[kind] if n not in given]
    valid_days = definition.get("valid_days", 30)
    if not isinstance(valid_days, int) or not 1 <= valid_days <= 366:
        problems.append("valid_days must be 1-366")
    frequency = definition.get("frequency", "monthly")
    if frequency not in FREQUENCIES:
        problems.append(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if problems:
        raise RuleInvalid("; ".join(problems), problems=problems)
    name = str(definition.get("name") or code)
    return Rule(code, name, kind, tuple(conditions), params, valid_days, frequency)


@dataclass(frozen=True)
class Grant:
    """A right a rule gives a customer: valid [valid_from, valid_until), once per ``period``."""

    rule_code: str
    kind: PerkKind
    customer_id: str
    period: str
    valid_from: date
    valid_until: date
    params: Mapping[str, Any]

    @property
    def grant_key(self) -> str:
        return f"{self.rule_code}:{self.customer_id}:{self.period}"


def evaluate(rule: Rule, snap: Snapshot, on: date, levels: Sequence[str]) -> Grant | None:
    """The grant ``rule`` gives ``snap`` on business date ``on``, or None if a condition fails.

    The period makes evaluation repeatable: events and the nightly run may both ask, and the
    stored grant key lets only the first answer through.
    """
    if not all(c.holds(snap, levels) for c in rule.conditions):
        return None
    period = "once" if rule.frequency == "once" else on.strftime("%Y-%m")
    return Grant(
        rule.code,
        rule.kind,
        snap.customer_id,
        period,
        on,
        on + timedelta(days=rule.valid_days),
        rule.params,
    )


def bonus_principal(max_amount_fen: int, amount_fen: int) -> int:
    """The part of a purchase the rate bonus applies to: the purchase, up to the coupon's cap."""
    return max(0, min(max_amount_fen, amount_fen))


# --- quizzes -----------------------------------------------------------------------------------


def daily_pick(question_ids: Sequence[str], customer_id: str, day: date, n: int) -> list[str]:
    """The day's questions for one customer: a stable shuffle keyed by customer and date."""

    def key(qid: str) -> str:
        return hashlib.sha256(f"{customer_id}|{day.isoformat()}|{qid}".encode()).hexdigest()

    return sorted(question_ids, key=key)[:n]


def quiz_points(correct: bool, earned_today: int, per_correct: int, daily_cap: int) -> int:
    """Points for one first attempt: ``per_correct`` if right, never past the daily cap."""
    if not correct:
        return 0
    return max(0, min(per_correct, daily_cap - earned_today))


def check_choice(choices: Sequence[str], chosen: int) -> None:
    if not 0 <= chosen < len(choices):
        raise QuizAnswerInvalid(f"choose an option 0-{len(choices) - 1}")
