"""Settling due holdings at maturity: the set-based core the maturity job and withdrawals share.

A batch of due holdings is read in one statement (locked ``FOR UPDATE SKIP LOCKED``, so a holding
a customer is withdrawing right now is left to that withdrawal, and several job runners can share
the work); the interest comes from the pure engine; then the batch is written in the caller's
transaction: at most two balanced ledger entries (``rollover``: interest expense to each renewed
holding; ``maturity``: each returned holding and the interest expense to each customer's Class II
balance), one bulk update of the holdings, one bulk insert of payout rows, one outbox event and,
given a ``Receipting``, each holding's interest and maturity receipts (``maturity_receipts``);
the writing is in ``settlement_writes``.

A rollover holding runs through the whole renewal chain up to the settlement day (each renewal at
the product rate posted on its maturity date); a returned one gets term interest plus demand
interest for the days past maturity (储蓄管理条例 Art. 25). The interest tax hook is zero
(``NO_INTEREST_TAX``); a non-zero tax would need a tax-payable leg, which the ledger would
otherwise refuse as unbalanced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, tuple_
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.deposits.domain import RateHistory
from greenbank.deposits.events import MaturedHolding
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingStatus,
    MaturityOption,
    PayoutKind,
)
from greenbank.deposits.interest import Holding, InterestLine, maturity_payout, rollover
from greenbank.deposits.maturity_receipts import SettledNote
from greenbank.deposits.models import Product
from greenbank.deposits.purchase import Receipting
from greenbank.deposits.rates import demand_rates, product_rate_histories
from greenbank.deposits.settlement_writes import write as write
from greenbank.errors import GreenbankError
from greenbank.ids import new_id
from greenbank.ledger import service as ledger

HOLDINGS = cast(Table, DepositHolding.__table__)


@dataclass(frozen=True, slots=True)
class Pricing:
    """The posted rates a settlement needs: the demand series and each product's series."""

    demand: RateHistory
    products: dict[str, RateHistory]


def load_pricing(session: Session, product_ids: Iterable[str] | None = None) -> Pricing:
    ids = (
        list(product_ids) if product_ids is not None else list(session.scalars(select(Product.id)))
    )
    return Pricing(demand_rates(session), product_rate_histories(session, ids))


@dataclass(frozen=True, slots=True)
class Due:
    """A holding as the job reads it."""

    id: str
    customer_id: str
    product_id: str
    contract: Holding
    maturity: date
    option: MaturityOption
    cycle: int


_DUE_COLUMNS = [
    HOLDINGS.c[name]
    for name in (
        "id",
        "customer_id",
        "product_id",
        "principal_fen",
        "rate",
        "term",
        "day_count",
        "value_date",
        "maturity_date",
        "maturity_option",
        "partial_withdrawn",
        "cycle",
    )
]


def _due(row: Any) -> Due:
    contract = Holding(
        row.principal_fen, row.rate, row.value_date, row.term, row.day_count, row.partial_withdrawn
    )
    return Due(
        row.id,
        row.customer_id,
        row.product_id,
        contract,
        row.maturity_date,
        row.maturity_option,
        row.cycle,
    )


def read_due(
    session: Session, *, on: date, after: tuple[date, str] | None, limit: int
) -> list[Due]:
    """The next batch of due holdings in (maturity, id) order, locked; locked ones skipped."""
    query = select(*_DUE_COLUMNS).where(
        HOLDINGS.c.status == HoldingStatus.ACTIVE.value, HOLDINGS.c.maturity_date <= on
    )
    if after is not None:
        query = query.where(tuple_(HOLDINGS.c.maturity_date, HOLDINGS.c.id) > after)
    query = query.order_by(HOLDINGS.c.maturity_date, HOLDINGS.c.id).limit(limit)
    return [_due(row) for row in session.execute(query.with_for_update(skip_locked=True))]


def lock_due(session: Session, holding_id: str, *, on: date) -> list[Due]:
    """One holding if it is due on ``on`` (a withdrawal settles its maturity first)."""
    query = select(*_DUE_COLUMNS).where(
        HOLDINGS.c.id == holding_id,
        HOLDINGS.c.status == HoldingStatus.ACTIVE.value,
        HOLDINGS.c.maturity_date <= on,
    )
    return [_due(row) for row in session.execute(query.with_for_update())]


def line_json(line: InterestLine) -> dict[str, Any]:
    return {
        "principal_fen": line.principal_fen,
        "rate": str(line.annual_rate),
        "start": line.start.isoformat(),
        "end": line.end.isoformat(),
        "day_count": line.day_count.value,
        "interest_fen": line.interest_fen,
    }


@dataclass
class Settlement:
    """What one batch writes, built from the pure engine before anything is written."""

    on: date
    now: datetime
    rolled: list[dict[str, Any]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # ids of holdings paid out and closed
    payouts: list[dict[str, Any]] = field(default_factory=list)
    events: list[MaturedHolding] = field(default_factory=list)
    notes: list[SettledNote] = field(default_factory=list)
    rollover_legs: dict[str, int] = field(default_factory=dict)
    return_legs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rollover_interest: int = 0
    return_interest: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def absorb(self, other: Settlement) -> None:
        """Count ``other`` (already written) as part of this one."""
        self.rolled += other.rolled
        self.closed += other.closed
        self.failures += other.failures

    def payout(self, due: Due, kind: PayoutKind, cycle: int, paid_on: date, **values: Any) -> None:
        self.payouts.append(
            {
                "id": new_id(),
                "holding_id": due.id,
                "customer_id": due.customer_id,
                "kind": kind,
                "idempotency_key": f"{kind.value}:{cycle}",
                "fingerprint": "maturity-job",
                "cycle": cycle,
                "paid_on": paid_on,
                "created_at": self.now,
                "entry_id": None,
                **values,
            }
        )

    def _note(
        self, due: Due, interest: int, principal: int, renewed: Holding | None = None
    ) -> None:
        """What the holding's receipts will print (``renewed``: it was rolled over)."""
        self.notes.append(
            SettledNote(
                due.id,
                due.customer_id,
                due.product_id,
                due.cycle,
                interest,
                principal,
                due.contract,
                renewed,
            )
        )

    def add(self, due: Due, pricing: Pricing) -> None:
        if due.option is MaturityOption.ROLLOVER:
            self._roll(due, pricing.products[due.product_id])
        else:
            self._return(due, pricing.demand(self.on))

    def _roll(self, due: Due, rates: RateHistory) -> None:
        chain = rollover(due.contract, until=self.on, rate_on=rates)
        for step, item in enumerate(chain.steps):
            self.payout(
                due,
                PayoutKind.ROLLOVER,
                due.cycle + step,
                item.payout.paid_on,
                principal_fen=0,
                interest_fen=item.payout.interest_fen,
                tax_fen=item.payout.tax_fen,
                remaining_fen=item.renewed.principal_fen,
                lines=[line_json(line) for line in item.payout.lines],
            )
        new = chain.current
        gained = new.principal_fen - due.contract.principal_fen
        self.rolled.append(
            {
                "h_id": due.id,
                "principal_fen": new.principal_fen,
                "rate": str(new.annual_rate),
                "value_date": new.value_date,
                "maturity_date": new.maturity,
                "cycle": due.cycle + len(chain.steps),
                "updated_at": self.now,
            }
        )
        self._note(due, gained, new.principal_fen, new)
        if gained:
            self.rollover_legs[ledger.holding_account_code(due.id)] = -gained
            self.rollover_interest += gained
        self.events.append(
            MaturedHolding(
                holding_id=due.id,
                customer_id=due.customer_id,
                kind=PayoutKind.ROLLOVER.value,
                principal_fen=0,
                interest_fen=gained,
                new_principal_fen=new.principal_fen,
            )
        )

    def _return(self, due: Due, demand: Decimal) -> None:
        paid = maturity_payout(due.contract, on=self.on, demand_rate=demand)
        self.payout(
            due,
            PayoutKind.MATURITY,
            due.cycle,
            self.on,
            principal_fen=paid.principal_fen,
            interest_fen=paid.interest_fen,
            tax_fen=paid.tax_fen,
            remaining_fen=0,
            lines=[line_json(line) for line in paid.lines],
        )
        self._note(due, paid.interest_fen, paid.principal_fen)
        self.closed.append(due.id)
        self.return_legs[ledger.holding_account_code(due.id)] += paid.principal_fen
        self.return_legs[ledger.customer_account_code(due.customer_id)] -= paid.net_fen
        self.return_interest += paid.interest_fen
        self.events.append(
            MaturedHolding(
                holding_id=due.id,
                customer_id=due.customer_id,
                kind=PayoutKind.MATURITY.value,
                principal_fen=paid.principal_fen,
                interest_fen=paid.interest_fen,
                new_principal_fen=0,
            )
        )


def plan(dues: Sequence[Due], pricing: Pricing, *, on: date, now: datetime) -> Settlement:
    """Settle each holding with the pure engine; a holding it refuses is a failure, not a stop."""
    result = Settlement(on, now)
    for due in dues:
        try:
            result.add(due, pricing)
        except GreenbankError as err:
            result.failures.append((due.id, err.code))
    return result


def settle(
    session: Session,
    clock: Clock,
    dues: Sequence[Due],
    pricing: Pricing,
    on: date,
    receipting: Receipting | None = None,
) -> Settlement:
    """Plan and write ``dues`` (already locked) in the caller's transaction, with their
    receipts when ``receipting`` is given."""
    result = plan(dues, pricing, on=on, now=clock.now())
    write(session, clock, result, receipting)
    return result
