"""Trial calculations (试算): the figures a customer sees before confirming a purchase.

Every figure comes from the pure interest engine with the rates posted in the catalogue. The
purchase is valued today (the business date) at the rate posted for today, which the holding keeps
for its whole term; early withdrawal and days past maturity earn the demand rate posted for the
withdrawal day — for a future day, the latest rate posted so far, as a trial cannot know later ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.deposits.catalogue import read, visible_product
from greenbank.deposits.domain import Term, days_held
from greenbank.deposits.interest import (
    Holding,
    Payout,
    expected_interest,
    full_early_withdrawal,
    maturity_payout,
    partial_early_withdrawal,
)
from greenbank.deposits.models import Product
from greenbank.deposits.quota import check_purchase, opening_holding
from greenbank.deposits.rates import demand_rates
from greenbank.errors import ValidationFailed


class WithdrawalDateRequired(ValidationFailed):
    code = "withdraw_on_required"
    title = "A partial-withdrawal trial needs the withdrawal date"


class PartialWithdrawalNotAllowed(ValidationFailed):
    code = "partial_withdrawal_not_allowed"
    title = "This product does not allow a partial early withdrawal"


class WithdrawalKind(Enum):
    FULL_EARLY = "full_early"
    PARTIAL_EARLY = "partial_early"
    MATURITY = "maturity"


@dataclass(frozen=True, slots=True)
class WithdrawalTrial:
    """What a withdrawal on a day pays; ``remaining`` is what a partial one leaves on deposit."""

    kind: WithdrawalKind
    demand_rate: Decimal
    payout: Payout
    remaining: Holding | None = None

    @property
    def remaining_expected_interest_fen(self) -> int | None:
        return None if self.remaining is None else expected_interest(self.remaining)


@dataclass(frozen=True, slots=True)
class Trial:
    product: Product
    holding: Holding  # principal, rate, value date (today), term
    withdrawal: WithdrawalTrial | None

    @property
    def expected_interest_fen(self) -> int:
        return expected_interest(self.holding)


def withdrawal_trial(
    product: Product,
    holding: Holding,
    *,
    on: date,
    demand_rate: Decimal,
    partial_amount_fen: int | None = None,
) -> WithdrawalTrial:
    """Full or partial early withdrawal before maturity; the maturity payout on or after it."""
    if partial_amount_fen is not None:
        if not product.partial_withdrawal_allowed:
            raise PartialWithdrawalNotAllowed(product_code=product.code)
        outcome = partial_early_withdrawal(
            holding,
            amount_fen=partial_amount_fen,
            on=on,
            demand_rate=demand_rate,
            minimum_fen=product.minimum_fen,
            below_minimum=product.below_minimum,
        )
        kind = WithdrawalKind.FULL_EARLY if outcome.closed else WithdrawalKind.PARTIAL_EARLY
        return WithdrawalTrial(kind, demand_rate, outcome.payout, outcome.remaining)
    if on < holding.maturity:
        payout = full_early_withdrawal(holding, on=on, demand_rate=demand_rate)
        return WithdrawalTrial(WithdrawalKind.FULL_EARLY, demand_rate, payout)
    payout = maturity_payout(holding, on=on, demand_rate=demand_rate)
    return WithdrawalTrial(WithdrawalKind.MATURITY, demand_rate, payout)


def trial(
    *,
    uow: UowFactory,
    clock: Clock,
    code: str,
    amount_fen: int,
    term: Term | None = None,
    withdraw_on: date | None = None,
    partial_amount_fen: int | None = None,
) -> Trial:
    """Buy ``amount_fen`` of product ``code`` today and, optionally, withdraw on ``withdraw_on``
    (in full, or ``partial_amount_fen`` of it). Checks what a purchase checks, counting the
    customer's limit as if they held nothing in the product yet."""
    if partial_amount_fen is not None and withdraw_on is None:
        raise WithdrawalDateRequired()
    now = clock.now()

    def query(session: Session) -> Trial:
        product = visible_product(session, code)
        if term is not None:
            product.settings.require_term(term)
        check_purchase(product, amount_fen=amount_fen, customer_total_fen=0, now=now)
        holding = opening_holding(session, product, amount_fen, business_date(now))
        if withdraw_on is None:
            return Trial(product, holding, None)
        days_held(holding.value_date, withdraw_on)  # refuse a day before the value date first
        withdrawal = withdrawal_trial(
            product,
            holding,
            on=withdraw_on,
            demand_rate=demand_rates(session)(withdraw_on),
            partial_amount_fen=partial_amount_fen,
        )
        return Trial(product, holding, withdrawal)

    return read(uow, query)
