"""Applying what the card rail says about a transfer: settle, fail or reverse it.

A notice arrives three ways — the rail's reply to ``submit``, a signed callback, or
``settle_due`` asking about everything still processing — and all go through ``apply_notice``,
which locks the account and then the transfer (the order requests use too). A transfer's state
only moves forward, so a repeated or late notice changes nothing:

* top-up settled: Dr bound-card clearing, Cr the customer's Class II balance;
* withdrawal settled: the hold is posted (Dr customer, Cr clearing); failed: the hold is voided;
* a settled top-up reversed by the card's bank: the entry is reversed; if the money was already
  spent the account is frozen and staff get an alert;
* a closing withdrawal that settles closes the account.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts import funds_limits
from greenbank.accounts.aml import AlertRule
from greenbank.accounts.aml_service import raise_alert
from greenbank.accounts.card_rail import RailDirection, RailInstruction, RailNotice
from greenbank.accounts.card_rail import RailStatus as Rail
from greenbank.accounts.funds_errors import RailNoticeConflict, TransferNotFound
from greenbank.accounts.funds_models import FundTransfer, TransferKind, TransferPurpose
from greenbank.accounts.funds_models import TransferStatus as St
from greenbank.accounts.funds_policy import FundsRuntime
from greenbank.accounts.funds_receipts import announce
from greenbank.accounts.funds_schemas import TransferOut
from greenbank.accounts.models import AccountStatus, BoundCard, ClassIIAccount
from greenbank.accounts.service import lock_account
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import GreenbankError
from greenbank.ledger import service as ledger
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.ledger.errors import AccountNotFound as LedgerAccountNotFound
from greenbank.ledger.errors import HoldExpired, InsufficientFunds

log = logging.getLogger(__name__)
DIRECTION = {TransferKind.TOP_UP: "in", TransferKind.WITHDRAWAL: "out"}
RAIL_DIRECTION = {
    TransferKind.TOP_UP: RailDirection.DEBIT,
    TransferKind.WITHDRAWAL: RailDirection.CREDIT,
}


def instruction_for(session: Session, transfer: FundTransfer) -> RailInstruction:
    if transfer.card_id is not None:
        card = session.get(BoundCard, transfer.card_id)
        assert card is not None
        number = card.card_number
    else:
        assert transfer.counterparty_card is not None
        number = transfer.counterparty_card
    return RailInstruction(
        reference=transfer.id,
        direction=RAIL_DIRECTION[TransferKind(transfer.kind)],
        card_number=number,
        amount_fen=transfer.amount_fen,
        submitted_at=transfer.requested_at,
    )


def load_transfer(session: Session, transfer_id: str, *, lock: bool = False) -> FundTransfer:
    stmt = select(FundTransfer).where(FundTransfer.id == transfer_id)
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise TransferNotFound(f"no transfer {transfer_id}", transfer_id=transfer_id)
    return found


def apply_notice(uow_factory: UowFactory, rt: FundsRuntime, notice: RailNotice) -> TransferOut:
    """Apply what the rail said about a transfer (a callback, a query answer, a submit reply)."""

    def work() -> TransferOut:
        with uow_factory() as uow:
            session = uow.session
            account_id = load_transfer(session, notice.reference).account_id
            account = lock_account(session, account_id)
            transfer = load_transfer(session, notice.reference, lock=True)
            _apply(session, rt, account, transfer, notice)
            uow.commit()
            return TransferOut.of(transfer)

    return run_with_retry(work)


def _apply(
    session: Session,
    rt: FundsRuntime,
    account: ClassIIAccount,
    transfer: FundTransfer,
    notice: RailNotice,
) -> None:
    clock = rt.clock
    transfer.rail_reference = transfer.rail_reference or notice.rail_reference
    status, wanted = St(transfer.status), notice.status
    if wanted is Rail.PENDING or (wanted, status) in _ALREADY:
        return
    if status is St.PROCESSING and wanted in (Rail.SETTLED, Rail.REVERSED):
        _settle(session, rt, account, transfer, notice.occurred_at)
        status = St.SETTLED
    if wanted is Rail.FAILED and status is St.PROCESSING:
        _fail(session, clock, account, transfer, notice.failure_code or "rail_failed")
    elif wanted is Rail.REVERSED and status is St.SETTLED and transfer.kind == TransferKind.TOP_UP:
        _reverse(session, clock, account, transfer)
    elif (wanted, status) != (Rail.SETTLED, St.SETTLED):
        raise RailNoticeConflict(
            f"transfer {transfer.id} is {status.value}; the rail now says {wanted.value}",
            transfer_id=transfer.id,
        )
    transfer.updated_at = clock.now()


_ALREADY = {
    (Rail.SETTLED, St.SETTLED),
    (Rail.SETTLED, St.REVERSED),
    (Rail.SETTLED, St.REVERSAL_SHORTFALL),
    (Rail.FAILED, St.FAILED),
    (Rail.REVERSED, St.REVERSED),
    (Rail.REVERSED, St.REVERSAL_SHORTFALL),
}


def _settle(
    session: Session,
    rt: FundsRuntime,
    account: ClassIIAccount,
    transfer: FundTransfer,
    at: datetime,
) -> None:
    clock = rt.clock
    try:
        ledger.get_account(session, CARD_CLEARING)
    except LedgerAccountNotFound:  # a fresh database: the bank's own accounts come first
        ledger.ensure_chart_of_accounts(session, clock=clock)
    customer = ledger.customer_account_code(transfer.customer_id)
    top_up = transfer.kind == TransferKind.TOP_UP
    spec = EntrySpec.transfer(
        code=EntryCode.TOP_UP if top_up else EntryCode.WITHDRAWAL,
        idempotency_key=f"funds:{transfer.id}:settle",
        debit=CARD_CLEARING if top_up else customer,
        credit=customer if top_up else CARD_CLEARING,
        amount_fen=transfer.amount_fen,
        description=f"{'Top-up from' if top_up else 'Withdrawal to'} {transfer.card_masked}",
        metadata={"transfer_id": transfer.id, "rail_reference": transfer.rail_reference},
    )
    if top_up:
        entry = ledger.post_entry(session, clock=clock, spec=spec)
    else:
        assert transfer.hold_id is not None
        try:
            entry = ledger.post_hold(session, clock=clock, hold_id=transfer.hold_id, spec=spec)
        except HoldExpired:  # the card was credited anyway: take the money without the hold
            entry = ledger.post_entry(session, clock=clock, spec=spec)
    transfer.status = St.SETTLED.value
    transfer.entry_id = entry.id
    transfer.settled_at = at
    announce(session, rt, account, transfer)
    if transfer.purpose == TransferPurpose.CLOSING:
        close_if_empty(session, clock, account)


def _fail(
    session: Session, clock: Clock, account: ClassIIAccount, transfer: FundTransfer, code: str
) -> None:
    if transfer.hold_id is not None:
        ledger.void_hold(session, clock=clock, hold_id=transfer.hold_id)
    if transfer.card_id is None:
        funds_limits.refund(
            session,
            customer_id=transfer.customer_id,
            direction=DIRECTION[TransferKind(transfer.kind)],
            amount_fen=transfer.amount_fen,
            requested_at=transfer.requested_at,
            now=clock.now(),
        )
    transfer.status = St.FAILED.value
    transfer.failure_code = code[:60]
    if transfer.purpose == TransferPurpose.CLOSING:
        account.status_reason = "closing: the withdrawal to the bound card failed; retry"
        account.updated_at = clock.now()


def _reverse(
    session: Session, clock: Clock, account: ClassIIAccount, transfer: FundTransfer
) -> None:
    assert transfer.entry_id is not None
    try:
        with session.begin_nested():
            entry = ledger.reverse_entry(
                session,
                clock=clock,
                entry_id=transfer.entry_id,
                idempotency_key=f"funds:{transfer.id}:reverse",
                reason=f"card bank reversed top-up {transfer.id}",
            )
    except InsufficientFunds:
        transfer.status = St.REVERSAL_SHORTFALL.value
        if account.status != AccountStatus.CLOSED:
            account.status = AccountStatus.FROZEN.value
            account.status_reason = f"top-up {transfer.id} reversed after the money was spent"
            account.updated_at = clock.now()
        raise_alert(
            session,
            clock,
            rule=AlertRule.REVERSAL_SHORTFALL,
            subject=transfer.id,
            customer_id=transfer.customer_id,
            amount_fen=transfer.amount_fen,
            detail={"transfer_id": transfer.id},
        )
        return
    transfer.status = St.REVERSED.value
    transfer.reversal_entry_id = entry.id


def close_if_empty(session: Session, clock: Clock, account: ClassIIAccount) -> bool:
    """Close a locked account whose balance is zero with nothing on hold; False if it is not."""
    code = ledger.customer_account_code(account.customer_id)
    balance = ledger.balance(session, clock=clock, account=code)
    if balance.balance_fen != 0 or balance.held_fen != 0:
        account.status_reason = "closing: money arrived meanwhile; close again"
        return False
    ledger.close_account(session, code=code)
    now = clock.now()
    account.status = AccountStatus.CLOSED.value
    account.status_reason = "closed at the customer's request"
    account.closed_at = now
    account.updated_at = now
    return True


def settle_due(uow_factory: UowFactory, rt: FundsRuntime, *, limit: int = 200) -> list[TransferOut]:
    """Ask the rail about every transfer still processing (the pull path behind callbacks)."""
    with uow_factory() as uow:
        pending = uow.session.scalars(
            select(FundTransfer)
            .where(FundTransfer.status == St.PROCESSING.value)
            .order_by(FundTransfer.requested_at)
            .limit(limit)
        ).all()
        instructions = [instruction_for(uow.session, t) for t in pending]
    now, done = rt.clock.now(), []
    for instruction in instructions:
        try:
            done.append(apply_notice(uow_factory, rt, rt.rail.query(instruction, now=now)))
        except GreenbankError as err:  # one bad answer must not hold up the others
            log.warning("transfer %s not settled: %s", instruction.reference, err.code)
    return done
