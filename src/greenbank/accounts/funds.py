"""Top-ups from and withdrawals to the bound card: the closed loop of a Class II account.

A request is two steps with the card rail in between. (1) In one transaction: lock the account,
answer a repeated idempotency key with its first result, check the account's state and that the
card is the bound one, write the transfer row and — for a withdrawal — put the money on hold in
the ledger (the ledger's no-overdraft guard under the balance-row lock keeps racing withdrawals
from overdrawing). (2) Ask the rail; its answer, now or later, is applied by
``settlement.apply_notice``. Any card other than the bound one is refused (``not_bound_card``)
unless the non-bound limits are switched on (``FundsPolicy.non_bound_enabled``).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts import funds_limits
from greenbank.accounts.card_rail import RailInstruction
from greenbank.accounts.errors import AccountNotFound, IdempotencyKeyReused
from greenbank.accounts.funds_errors import (
    AccountClosed,
    AccountFrozen,
    AccountRestricted,
    InvalidTransferAmount,
    NoActiveBoundCard,
    NotBoundCard,
)
from greenbank.accounts.funds_models import FundTransfer, TransferKind, TransferPurpose
from greenbank.accounts.funds_models import TransferStatus as St
from greenbank.accounts.funds_policy import FundsRuntime
from greenbank.accounts.funds_schemas import TransferOut
from greenbank.accounts.models import AccountStatus, BoundCard, CardStatus, ClassIIAccount
from greenbank.accounts.settlement import DIRECTION, apply_notice, instruction_for, load_transfer
from greenbank.crypto import mask_card
from greenbank.customers.cards import parse_card_number
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import ServiceUnavailable
from greenbank.ledger import service as ledger
from greenbank.ledger.domain import fingerprint
from greenbank.pii import session_keyring

log = logging.getLogger(__name__)


def top_up(
    uow_factory: UowFactory,
    rt: FundsRuntime,
    *,
    customer_id: str,
    amount_fen: int,
    idempotency_key: str,
    card_number: str | None = None,
) -> TransferOut:
    """充值: pull ``amount_fen`` from the bound card (``card_number``, if given, must be it)."""
    return request(
        uow_factory,
        rt,
        customer_id=customer_id,
        kind=TransferKind.TOP_UP,
        amount_fen=amount_fen,
        idempotency_key=idempotency_key,
        card_number=card_number,
    )


def withdraw(
    uow_factory: UowFactory,
    rt: FundsRuntime,
    *,
    customer_id: str,
    amount_fen: int,
    idempotency_key: str,
    card_number: str | None = None,
) -> TransferOut:
    """提现: push ``amount_fen`` back to the bound card; held until the rail settles."""
    return request(
        uow_factory,
        rt,
        customer_id=customer_id,
        kind=TransferKind.WITHDRAWAL,
        amount_fen=amount_fen,
        idempotency_key=idempotency_key,
        card_number=card_number,
    )


def request(
    uow_factory: UowFactory,
    rt: FundsRuntime,
    *,
    customer_id: str,
    kind: TransferKind,
    amount_fen: int,
    idempotency_key: str,
    card_number: str | None = None,
    purpose: TransferPurpose = TransferPurpose.CUSTOMER,
) -> TransferOut:
    ceiling = rt.policy.max_single_fen if purpose is TransferPurpose.CUSTOMER else amount_fen
    if type(amount_fen) is not int or not 0 < amount_fen <= ceiling:
        raise InvalidTransferAmount(
            f"amount must be 1-{rt.policy.max_single_fen} fen", max_fen=rt.policy.max_single_fen
        )
    if not 1 <= len(idempotency_key) <= 100:
        raise InvalidTransferAmount("an Idempotency-Key of 1-100 characters is required")

    def create() -> tuple[TransferOut, RailInstruction | None]:
        with uow_factory() as uow:
            account = lock_customer_account(uow.session, customer_id)
            result = _create(
                uow.session, rt, account, kind, amount_fen, idempotency_key, card_number, purpose
            )
            uow.commit()
            return result

    created, instruction = run_with_retry(create)
    if instruction is None:
        return created
    return submit(uow_factory, rt, instruction)


def submit(uow_factory: UowFactory, rt: FundsRuntime, instruction: RailInstruction) -> TransferOut:
    """Hand an instruction to the rail and apply its first answer."""
    try:
        notice = rt.rail.submit(instruction)
    except ServiceUnavailable:
        log.warning("card rail did not answer for %s; settle_due will ask", instruction.reference)
        with uow_factory() as uow:
            return TransferOut.of(load_transfer(uow.session, instruction.reference))
    return apply_notice(uow_factory, rt, notice)


def _create(
    session: Session,
    rt: FundsRuntime,
    account: ClassIIAccount,
    kind: TransferKind,
    amount_fen: int,
    key: str,
    card_number: str | None,
    purpose: TransferPurpose,
) -> tuple[TransferOut, RailInstruction | None]:
    card = session.scalar(
        select(BoundCard).where(
            BoundCard.account_id == account.id, BoundCard.status == CardStatus.ACTIVE.value
        )
    )
    other = _other_card(session, card, card_number)
    request_print = fingerprint(
        "fund_transfer",
        kind=kind.value,
        amount=amount_fen,
        purpose=purpose.value,
        card=None if other is None else session_keyring(session).blind_index(other, kind="card"),
    )
    found = session.scalar(
        select(FundTransfer).where(
            FundTransfer.customer_id == account.customer_id, FundTransfer.idempotency_key == key
        )
    )
    if found is not None:
        if found.fingerprint != request_print:
            raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used for another request")
        return TransferOut.of(found, replayed=True), None
    check_can_move(account, kind, bound=other is None)
    if card is None:
        raise NoActiveBoundCard("the account has no active bound card")
    now = rt.clock.now()
    if other is not None:
        if not rt.policy.non_bound_enabled:
            raise NotBoundCard("the card is not the account's bound card")
        funds_limits.charge(
            session,
            policy=rt.policy,
            customer_id=account.customer_id,
            direction=DIRECTION[kind],
            amount_fen=amount_fen,
            at=now,
        )
    transfer = FundTransfer(
        account_id=account.id,
        customer_id=account.customer_id,
        kind=kind.value,
        purpose=purpose.value,
        status=St.PROCESSING.value,
        amount_fen=amount_fen,
        idempotency_key=key,
        fingerprint=request_print,
        card_id=card.id if other is None else None,
        counterparty_card=other,
        card_masked=card.masked_number if other is None else mask_card(other),
        bank_name=card.bank_name if other is None else "",
        rail=rt.rail.name,
        requested_at=now,
        updated_at=now,
    )
    session.add(transfer)
    session.flush()
    if kind is TransferKind.WITHDRAWAL:
        transfer.hold_id = ledger.hold(
            session,
            clock=rt.clock,
            account=ledger.customer_account_code(account.customer_id),
            amount_fen=amount_fen,
            idempotency_key=f"funds:{transfer.id}:hold",
            expires_at=now + rt.policy.withdrawal_hold_ttl,
            description=f"Withdrawal {transfer.id} to {transfer.card_masked}",
        ).id
    return TransferOut.of(transfer), instruction_for(session, transfer)


def _other_card(session: Session, card: BoundCard | None, card_number: str | None) -> str | None:
    """``None`` when the request names no card or the bound one; else the other card's digits."""
    if card_number is None:
        return None
    digits = parse_card_number(card_number).value
    index = session_keyring(session).blind_index(digits, kind="card")
    return None if card is not None and index == card.card_number_bidx else digits


def check_can_move(account: ClassIIAccount, kind: TransferKind, *, bound: bool) -> None:
    """Active: anything in the closed loop. Restricted: only a withdrawal to the bound card."""
    if account.status == AccountStatus.CLOSED:
        raise AccountClosed("the account is closed", account_id=account.id)
    if account.status == AccountStatus.FROZEN:
        raise AccountFrozen("the account is frozen", account_id=account.id)
    if account.status == AccountStatus.RESTRICTED and (kind is TransferKind.TOP_UP or not bound):
        raise AccountRestricted(account.status_reason or "restricted", account_id=account.id)


def lock_customer_account(session: Session, customer_id: str) -> ClassIIAccount:
    """The customer's open account (else their latest closed one), locked for this transaction."""
    rows = session.scalars(
        select(ClassIIAccount)
        .where(ClassIIAccount.customer_id == customer_id)
        .order_by(ClassIIAccount.opened_at.desc())
        .with_for_update()
    ).all()
    if not rows:
        raise AccountNotFound("this customer has no Class II account")
    return next((a for a in rows if a.status != AccountStatus.CLOSED), rows[0])
