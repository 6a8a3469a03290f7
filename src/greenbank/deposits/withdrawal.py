"""Withdrawing a holding: the trial figure first, then the withdrawal itself, idempotent per key.

Before maturity it is an early withdrawal (储蓄管理条例 Art. 24): in full, or once in part, at
the demand rate posted on the withdrawal day, actual/360; the rest keeps its rate, value date and
maturity, and a rest below the product minimum is refused or closes the deposit (product rule).
On or after maturity it is the maturity payout with demand interest for the extra days
(Art. 25). A rollover holding whose maturity passed before the job ran is first renewed exactly
as the job would have (``maturity.settle``), so the customer withdraws the renewed deposit.

Lock order as in ``purchase``: the Class II account row, then the holding row, then (inside the
ledger) the balance rows. Ledger entry: Dr the holding (principal back), Dr interest expense,
Cr the Class II balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bus import publish
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.deposits.catalogue import read
from greenbank.deposits.events import DepositWithdrawn
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    MaturityOption,
    PayoutKind,
)
from greenbank.deposits.interest import Holding, rollover
from greenbank.deposits.models import Product
from greenbank.deposits.purchase import (
    IdempotencyKeyReused,
    Receipting,
    audited,
    issue_receipt_for,
    lock_class2_account,
)
from greenbank.deposits.rates import demand_rates, product_rates
from greenbank.deposits.settlement import line_json, load_pricing, lock_due, settle
from greenbank.deposits.trial import WithdrawalKind, WithdrawalTrial, withdrawal_trial
from greenbank.errors import Conflict, NotFound
from greenbank.idempotency import check_key, fingerprint
from greenbank.ids import new_id
from greenbank.ledger import service as ledger
from greenbank.ledger.accounts import INTEREST_EXPENSE
from greenbank.ledger.domain import EntryCode, EntrySpec, PostingSpec
from greenbank.receipts.render import ReceiptType

_PAYOUT_KIND = {
    WithdrawalKind.FULL_EARLY: PayoutKind.FULL_EARLY,
    WithdrawalKind.PARTIAL_EARLY: PayoutKind.PARTIAL_EARLY,
    WithdrawalKind.MATURITY: PayoutKind.MATURITY,
}


class HoldingNotFound(NotFound):
    code = "holding_not_found"
    title = "No such holding"


class HoldingClosed(Conflict):
    code = "holding_closed"
    title = "The holding is already closed"


@dataclass(frozen=True, slots=True)
class WithdrawalResult:
    payout: HoldingPayout
    holding: DepositHolding
    replayed: bool


def _holding(session: Session, customer_id: str, holding_id: str, *, lock: bool) -> DepositHolding:
    query = select(DepositHolding).where(
        DepositHolding.id == holding_id, DepositHolding.customer_id == customer_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    holding = session.scalar(query)
    if holding is None:
        raise HoldingNotFound(holding_id=holding_id)
    if holding.status is not HoldingStatus.ACTIVE:
        raise HoldingClosed(holding_id=holding_id)
    return holding


def _current(session: Session, holding: DepositHolding, today: date) -> Holding:
    """The contract in force today: a rollover holding past maturity as if already renewed."""
    contract = holding.contract
    if holding.maturity_option is MaturityOption.ROLLOVER and holding.maturity_date <= today:
        contract = rollover(
            contract, until=today, rate_on=product_rates(session, holding.product_id)
        ).current
    return contract


def _quote(
    session: Session,
    holding: DepositHolding,
    contract: Holding,
    today: date,
    amount_fen: int | None,
) -> WithdrawalTrial:
    product = session.get_one(Product, holding.product_id)
    return withdrawal_trial(
        product,
        contract,
        on=today,
        demand_rate=demand_rates(session)(today),
        partial_amount_fen=amount_fen,
    )


def withdrawal_quote(
    *, uow: UowFactory, clock: Clock, customer_id: str, holding_id: str, amount_fen: int | None
) -> WithdrawalTrial:
    """What withdrawing today would pay (in full, or ``amount_fen`` of it); nothing changes."""
    today = business_date(clock.now())

    def query(session: Session) -> WithdrawalTrial:
        holding = _holding(session, customer_id, holding_id, lock=False)
        return _quote(session, holding, _current(session, holding, today), today, amount_fen)

    return read(uow, query)


def withdraw(
    *,
    uow: UowFactory,
    clock: Clock,
    customer_id: str,
    holding_id: str,
    amount_fen: int | None,
    idempotency_key: str,
    receipting: Receipting | None = None,
) -> WithdrawalResult:
    """Withdraw today, in full (``amount_fen`` None) or in part; a retried key replays."""
    key = f"customer:{check_key(idempotency_key)}"
    print_ = fingerprint(holding_id=holding_id, amount_fen=amount_fen)

    def attempt() -> WithdrawalResult:
        with uow() as unit:
            result = _withdraw(
                unit.session, clock, customer_id, holding_id, amount_fen, key, print_, receipting
            )
            unit.commit()
            return result

    return audited(
        uow,
        clock,
        attempt,
        actor=f"customer:{customer_id}",
        action="deposits.withdraw",
        holding_id=holding_id,
        amount_fen=amount_fen,
    )


def _replay(session: Session, holding_id: str, key: str, print_: str) -> WithdrawalResult | None:
    payout = session.scalar(
        select(HoldingPayout).where(
            HoldingPayout.holding_id == holding_id, HoldingPayout.idempotency_key == key
        )
    )
    if payout is None:
        return None
    if payout.fingerprint != print_:
        raise IdempotencyKeyReused(payout_id=payout.id)
    return WithdrawalResult(payout, session.get_one(DepositHolding, holding_id), replayed=True)


def _withdraw(
    session: Session,
    clock: Clock,
    customer_id: str,
    holding_id: str,
    amount_fen: int | None,
    key: str,
    print_: str,
    receipting: Receipting | None,
) -> WithdrawalResult:
    class2 = lock_class2_account(session, customer_id, purpose="credit")
    replayed = _replay(session, holding_id, key, print_)
    if replayed is not None:
        return replayed
    holding = _holding(session, customer_id, holding_id, lock=True)
    now = clock.now()
    today = business_date(now)
    if holding.maturity_option is MaturityOption.ROLLOVER and holding.maturity_date <= today:
        due = lock_due(session, holding.id, on=today)
        pricing = load_pricing(session, [holding.product_id])
        settle(session, clock, due, pricing, today, receipting)
        session.refresh(holding)
    quote = _quote(session, holding, holding.contract, today, amount_fen)
    paid = quote.payout
    payout_id = new_id()
    legs = [PostingSpec(ledger.holding_account_code(holding.id), paid.principal_fen)]
    if paid.interest_fen:
        legs.append(PostingSpec(INTEREST_EXPENSE, paid.interest_fen))
    legs.append(PostingSpec(class2.ledger_code, -paid.net_fen))
    kind = _PAYOUT_KIND[quote.kind]
    entry = ledger.post_entry(
        session,
        clock=clock,
        spec=EntrySpec(
            code=EntryCode.MATURITY if kind is PayoutKind.MATURITY else EntryCode.EARLY_WITHDRAWAL,
            idempotency_key=f"deposits:payout:{payout_id}",
            postings=tuple(legs),
            value_date=today,
            description="定期存款到期支取" if kind is PayoutKind.MATURITY else "定期存款提前支取",
            metadata={"holding_id": holding.id, "payout_id": payout_id, "kind": kind.value},
        ),
    )
    remaining = 0 if quote.remaining is None else quote.remaining.principal_fen
    holding.principal_fen = remaining
    holding.updated_at = now
    if quote.remaining is None:
        holding.status = HoldingStatus.CLOSED
        holding.closed_at = now
    else:
        holding.partial_withdrawn = True
    payout = HoldingPayout(
        id=payout_id,
        holding_id=holding.id,
        customer_id=customer_id,
        kind=kind,
        idempotency_key=key,
        fingerprint=print_,
        cycle=holding.cycle,
        paid_on=today,
        principal_fen=paid.principal_fen,
        interest_fen=paid.interest_fen,
        tax_fen=paid.tax_fen,
        remaining_fen=remaining,
        lines=[line_json(line) for line in paid.lines],
        entry_id=entry.id,
        created_at=now,
    )
    session.add(payout)
    publish(
        session,
        DepositWithdrawn(
            holding_id=holding.id,
            customer_id=customer_id,
            payout_id=payout_id,
            kind=kind.value,
            principal_fen=paid.principal_fen,
            interest_fen=paid.interest_fen,
            tax_fen=paid.tax_fen,
            remaining_fen=remaining,
            paid_on=today,
        ),
        aggregate_type="deposit_holding",
        aggregate_id=holding.id,
        headers={"idempotency_key": key},
        clock=clock,
    )
    issue_receipt_for(
        session,
        clock,
        receipting,
        kind=ReceiptType.MATURITY if kind is PayoutKind.MATURITY else ReceiptType.EARLY_WITHDRAWAL,
        source_id=payout_id,
        customer_id=customer_id,
        class2=class2,
        amount_fen=paid.net_fen,
        serial_no=entry.id,
        product=product_name(session, holding.product_id),
        term=holding.term.label,
        rate=holding.rate,
        value_date=holding.value_date,
        maturity_date=holding.maturity_date,
    )
    session.flush()
    return WithdrawalResult(payout, holding, replayed=False)


def product_name(session: Session, product_id: str) -> str:
    return session.get_one(Product, product_id).name
