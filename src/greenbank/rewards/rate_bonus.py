"""The green time-deposit rate bonus: the steps the deposit purchase flow calls, and its payout.

In the purchase transaction the deposits service asks ``find_applicable_rate_bonus`` (an issued,
valid rate-bonus right of the customer, for a green product) and, once the holding exists,
``consume_rate_bonus`` (locks the right, marks it used by the holding, records the bonus with
its expected amount). The holding keeps the product's posted rate: the bonus is a perk, not
interest, so it is paid separately — when the term interest is paid at maturity — by the
``rewards.rate_bonus`` bus consumer, as one ledger entry ``rate_bonus``:
Dr ``bank:marketing_expense`` / Cr ``customer:<id>:class2``. A full early withdrawal forfeits
it; a partial one caps it at the principal left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.deposits.interest import term_interest
from greenbank.errors import Conflict
from greenbank.ledger import service as ledger
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.rewards.domain import PerkKind, bonus_principal
from greenbank.rewards.models import GrantRow, RateBonus
from greenbank.rewards.perks import ISSUED, USED

ACTIVE, PAID, FORFEITED = "active", "paid", "forfeited"


class RateBonusUnavailable(Conflict):
    code = "rate_bonus_unavailable"
    title = "The rate-bonus coupon is used, expired or not the customer's"


class BonusProduct(Protocol):
    """What the bonus needs to know of a deposit product (``deposits.models.Product`` fits)."""

    @property
    def code(self) -> str: ...

    @property
    def green(self) -> bool: ...


@dataclass(frozen=True)
class RateBonusOffer:
    coupon_id: str
    bonus_rate: Decimal  # a fraction: 0.001 = +0.10%
    principal_fen: int  # the part of the purchase it applies to


@dataclass(frozen=True)
class RateBonusOut:
    holding_id: str
    coupon_id: str
    bonus_rate: Decimal
    principal_fen: int
    expected_fen: int
    status: str


def _offer(grant: GrantRow, amount_fen: int) -> RateBonusOffer:
    cap = int(grant.params["max_amount_fen"])
    return RateBonusOffer(
        grant.id, Decimal(grant.params["bonus_rate"]), bonus_principal(cap, amount_fen)
    )


_VALID_COUPONS = select(GrantRow).where(  # built once: every green purchase looks
    GrantRow.customer_id == bindparam("customer_id"),
    GrantRow.kind == PerkKind.RATE_BONUS.value,
    GrantRow.status == ISSUED,
    GrantRow.valid_from <= bindparam("on"),
    GrantRow.valid_until > bindparam("on"),
)


def find_applicable_rate_bonus(
    session: Session, customer_id: str, product: BonusProduct, amount_fen: int, on: date
) -> RateBonusOffer | None:
    """The customer's best valid rate-bonus coupon for this purchase, or None (not green, none
    issued, or all used or expired). Reads only; ``consume_rate_bonus`` takes it."""
    if not product.green or amount_fen <= 0:
        return None
    grants = session.scalars(_VALID_COUPONS, {"customer_id": customer_id, "on": on})
    offers = [_offer(g, amount_fen) for g in grants]
    return max(offers, key=lambda o: (o.bonus_rate, o.principal_fen), default=None)


def _out(bonus: RateBonus) -> RateBonusOut:
    return RateBonusOut(
        bonus.holding_id,
        bonus.grant_id,
        Decimal(bonus.bonus_rate),
        bonus.principal_fen,
        bonus.expected_fen,
        bonus.status,
    )


def consume_rate_bonus(
    session: Session,
    coupon_id: str,
    holding_id: str,
    *,
    clock: Clock,
    customer_id: str,
    amount_fen: int,
    value_date: date,
    maturity_date: date,
) -> RateBonusOut:
    """Use the coupon for this holding (once; a retry for the same holding returns the first)."""
    existing = session.get(RateBonus, holding_id)
    if existing is not None and existing.grant_id == coupon_id:
        return _out(existing)
    grant = session.get(GrantRow, coupon_id, with_for_update=True)
    on = value_date
    if (
        grant is None
        or grant.customer_id != customer_id
        or grant.kind != PerkKind.RATE_BONUS.value
        or grant.status != ISSUED
        or not grant.valid_from <= on < grant.valid_until
    ):
        raise RateBonusUnavailable(coupon_id=coupon_id)
    offer = _offer(grant, amount_fen)
    now = clock.now()
    grant.status, grant.used_at, grant.used_ref = USED, now, holding_id
    bonus = RateBonus(
        holding_id=holding_id,
        grant_id=grant.id,
        customer_id=customer_id,
        bonus_rate=str(offer.bonus_rate),
        principal_fen=offer.principal_fen,
        value_date=value_date,
        maturity_date=maturity_date,
        expected_fen=term_interest(
            offer.principal_fen, offer.bonus_rate, value_date, maturity_date
        ),
        status=ACTIVE,
        paid_fen=0,
        created_at=now,
    )
    session.add(bonus)
    session.flush()
    return _out(bonus)


def _active(session: Session, holding_id: str) -> RateBonus | None:
    bonus = session.get(RateBonus, holding_id, with_for_update=True)
    return bonus if bonus is not None and bonus.status == ACTIVE else None


def pay_rate_bonus(session: Session, *, clock: Clock, holding_id: str) -> RateBonusOut | None:
    """Step: pay a holding's active bonus from marketing expense into the Class II balance."""
    bonus = _active(session, holding_id)
    if bonus is None:
        return None
    if bonus.expected_fen > 0:
        entry = ledger.post_entry(
            session,
            clock=clock,
            spec=EntrySpec.transfer(
                code=EntryCode.RATE_BONUS,
                idempotency_key=f"rewards:rate_bonus:{holding_id}",
                debit=ledger.MARKETING_EXPENSE,
                credit=ledger.customer_account_code(bonus.customer_id),
                amount_fen=bonus.expected_fen,
                description=f"绿色存款加息 +{Decimal(bonus.bonus_rate) * 100:.2f}%",
                metadata={"holding_id": holding_id, "coupon_id": bonus.grant_id},
            ),
        )
        bonus.entry_id = entry.id
    bonus.status, bonus.paid_fen, bonus.settled_at = PAID, bonus.expected_fen, clock.now()
    session.flush()
    return _out(bonus)


def forfeit_rate_bonus(session: Session, *, clock: Clock, holding_id: str) -> None:
    """Step: a full early withdrawal ends the deposit before its term; the bonus lapses."""
    bonus = _active(session, holding_id)
    if bonus is not None:
        bonus.status, bonus.settled_at = FORFEITED, clock.now()


def shrink_rate_bonus(session: Session, *, holding_id: str, remaining_fen: int) -> None:
    """Step: after a partial early withdrawal the bonus applies to at most what is left."""
    bonus = _active(session, holding_id)
    if bonus is not None and remaining_fen < bonus.principal_fen:
        bonus.principal_fen = remaining_fen
        bonus.expected_fen = term_interest(
            remaining_fen, Decimal(bonus.bonus_rate), bonus.value_date, bonus.maturity_date
        )


def bonus_of(session: Session, holding_id: str) -> RateBonusOut | None:
    bonus = session.get(RateBonus, holding_id)
    return None if bonus is None else _out(bonus)
