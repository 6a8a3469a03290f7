"""Account states: restrict, freeze, unfreeze, close — and replacing the bound card.

* active — the closed loop works both ways;
* restricted — only a withdrawal to the bound card (the customer's ID expired, or closing);
* frozen — staff with ``customers.freeze`` stopped everything, with a reason (audited);
* closed — only from a zero balance: closing first sends any balance home to the bound card.

A transfer already with the card rail still settles after a freeze: the money has left the other
bank, so the books must follow. Unfreezing returns to restricted if the ID has expired meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.accounts import funds
from greenbank.accounts.funds_errors import (
    AccountClosed,
    AccountFrozen,
    HoldingsOpen,
    InvalidStateChange,
    ReasonRequired,
    TransfersInFlight,
)
from greenbank.accounts.funds_models import (
    FundTransfer,
    TransferKind,
    TransferPurpose,
    TransferStatus,
)
from greenbank.accounts.funds_policy import FundsRuntime
from greenbank.accounts.funds_schemas import CloseOut, TransferOut
from greenbank.accounts.models import AccountStatus, BoundCard, CardStatus, ClassIIAccount
from greenbank.accounts.service import active_bound_card, lock_account
from greenbank.accounts.settlement import close_if_empty
from greenbank.audit.service import record
from greenbank.clock import Clock, business_date
from greenbank.crypto import mask_card, mask_phone
from greenbank.customers.models import Customer
from greenbank.db import UowFactory, run_with_retry
from greenbank.ledger import service as ledger
from greenbank.ledger.models import Account as LedgerAccount
from greenbank.ledger.models import Balance as LedgerBalance

ID_EXPIRED = "id_expired"
CLOSING = "closing"


@dataclass(frozen=True)
class StateOut:
    account_id: str
    status: str
    status_reason: str | None


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not 2 <= len(reason) <= 200:
        raise ReasonRequired("a reason of 2-200 characters is required")
    return reason


def id_expired(customer: Customer | None, on: date) -> bool:
    """An ID whose validity ended before ``on`` (no end date: long-term validity)."""
    return customer is not None and customer.id_valid_to is not None and customer.id_valid_to < on


def _change(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    account_id: str,
    allowed_from: frozenset[AccountStatus],
    to: AccountStatus | None,
    reason: str,
    actor: str,
    action: str,
) -> StateOut:
    reason = _reason(reason)

    def work() -> StateOut:
        with uow_factory() as uow:
            account = lock_account(uow.session, account_id)
            before = AccountStatus(account.status)
            if before not in allowed_from:
                raise InvalidStateChange(
                    f"the account is {before.value}", account_id=account_id, status=before.value
                )
            target = to or _unfrozen(uow.session, clock, account)
            account.status = target.value
            account.status_reason = None if target is AccountStatus.ACTIVE else reason
            account.updated_at = clock.now()
            record(
                uow.session,
                clock,
                actor=actor,
                action=action,
                subject=account_id,
                before=before.value,
                after=target.value,
                reason=reason,
            )
            uow.commit()
            return StateOut(account.id, account.status, account.status_reason)

    return run_with_retry(work)


def _unfrozen(session: Session, clock: Clock, account: ClassIIAccount) -> AccountStatus:
    customer = session.get(Customer, account.customer_id)
    if id_expired(customer, business_date(clock.now())):
        return AccountStatus.RESTRICTED
    return AccountStatus.ACTIVE


_OPEN = frozenset({AccountStatus.ACTIVE, AccountStatus.RESTRICTED})


def freeze(
    uow_factory: UowFactory, clock: Clock, *, account_id: str, reason: str, actor: str
) -> StateOut:
    """Stop every movement of money (staff, ``customers.freeze``)."""
    return _change(
        uow_factory,
        clock,
        account_id=account_id,
        allowed_from=_OPEN,
        to=AccountStatus.FROZEN,
        reason=reason,
        actor=actor,
        action="accounts.frozen",
    )


def unfreeze(
    uow_factory: UowFactory, clock: Clock, *, account_id: str, reason: str, actor: str
) -> StateOut:
    """Back to active — or to restricted if the customer's ID has expired meanwhile."""
    return _change(
        uow_factory,
        clock,
        account_id=account_id,
        allowed_from=frozenset({AccountStatus.FROZEN}),
        to=None,
        reason=reason,
        actor=actor,
        action="accounts.unfrozen",
    )


def restrict(
    uow_factory: UowFactory, clock: Clock, *, account_id: str, reason: str, actor: str
) -> StateOut:
    return _change(
        uow_factory,
        clock,
        account_id=account_id,
        allowed_from=frozenset({AccountStatus.ACTIVE}),
        to=AccountStatus.RESTRICTED,
        reason=reason,
        actor=actor,
        action="accounts.restricted",
    )


def lift_restriction(
    uow_factory: UowFactory, clock: Clock, *, account_id: str, reason: str, actor: str
) -> StateOut:
    """Restricted -> active, unless the ID is still expired (then it stays restricted)."""
    return _change(
        uow_factory,
        clock,
        account_id=account_id,
        allowed_from=frozenset({AccountStatus.RESTRICTED}),
        to=None,
        reason=reason,
        actor=actor,
        action="accounts.restriction_lifted",
    )


def restrict_expired_ids(
    uow_factory: UowFactory, clock: Clock, *, actor: str = "system"
) -> list[str]:
    """The daily job: restrict every active account whose holder's ID validity has ended."""
    today = business_date(clock.now())
    with uow_factory() as uow:
        ids = uow.session.scalars(
            select(ClassIIAccount.id)
            .join(Customer, Customer.id == ClassIIAccount.customer_id)
            .where(
                ClassIIAccount.status == AccountStatus.ACTIVE.value,
                Customer.id_valid_to.is_not(None),
                Customer.id_valid_to < today,
            )
        ).all()
    restricted = []
    for account_id in ids:
        try:
            restrict(uow_factory, clock, account_id=account_id, reason=ID_EXPIRED, actor=actor)
        except InvalidStateChange:  # frozen or closed since the read: nothing to do
            continue
        restricted.append(account_id)
    return restricted


def close(
    uow_factory: UowFactory, rt: FundsRuntime, *, customer_id: str, idempotency_key: str
) -> CloseOut:
    """Close the customer's account; with money in it, send the balance to the bound card first
    (``closing``) — the account closes when that withdrawal settles."""

    def begin() -> CloseOut | int:
        with uow_factory() as uow:
            session = uow.session
            account = funds.lock_customer_account(session, customer_id)
            replay = session.scalar(
                select(FundTransfer).where(
                    FundTransfer.customer_id == customer_id,
                    FundTransfer.idempotency_key == idempotency_key,
                    FundTransfer.purpose == TransferPurpose.CLOSING.value,
                )
            )
            if replay is not None:
                return CloseOut(
                    account_id=account.id,
                    status=account.status,
                    transfer=TransferOut.of(replay, replayed=True),
                )
            if account.status == AccountStatus.CLOSED:
                return CloseOut(account_id=account.id, status=account.status, transfer=None)
            if account.status == AccountStatus.FROZEN:
                raise AccountFrozen("a frozen account can not be closed", account_id=account.id)
            _check_nothing_pending(session, account)
            if close_if_empty(session, rt.clock, account):
                record(
                    session,
                    rt.clock,
                    actor=f"customer:{customer_id}",
                    action="accounts.closed",
                    subject=account.id,
                )
                uow.commit()
                return CloseOut(account_id=account.id, status=account.status, transfer=None)
            balance = ledger.balance(
                session, clock=rt.clock, account=ledger.customer_account_code(customer_id)
            )
            if balance.available_fen <= 0:
                raise TransfersInFlight("the balance is on hold; close when it is released")
            account.status = AccountStatus.RESTRICTED.value
            account.status_reason = CLOSING
            account.updated_at = rt.clock.now()
            record(
                session,
                rt.clock,
                actor=f"customer:{customer_id}",
                action="accounts.closing",
                subject=account.id,
                balance_fen=balance.available_fen,
            )
            uow.commit()
            return balance.available_fen

    started = run_with_retry(begin)
    if isinstance(started, CloseOut):
        return started
    transfer = funds.request(
        uow_factory,
        rt,
        customer_id=customer_id,
        kind=TransferKind.WITHDRAWAL,
        amount_fen=started,
        idempotency_key=idempotency_key,
        purpose=TransferPurpose.CLOSING,
    )
    with uow_factory() as uow:
        account = uow.session.get_one(ClassIIAccount, transfer.account_id)
        return CloseOut(account_id=account.id, status=account.status, transfer=transfer)


def _check_nothing_pending(session: Session, account: ClassIIAccount) -> None:
    check_no_transfers(session, account)
    holdings = session.scalar(
        select(func.count())
        .select_from(LedgerAccount)
        .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.owner_type == "customer",
            LedgerAccount.owner_id == account.customer_id,
            LedgerAccount.id != account.ledger_account_id,
            LedgerBalance.posted_fen != 0,
        )
    )
    if holdings:
        raise HoldingsOpen("withdraw or wait for the maturity of every time deposit first")


@dataclass(frozen=True)
class VerifiedCard:
    """A card that passed five-element authentication and its SMS code for this customer.

    The onboarding flow owns that check (``kyc_steps``); a card change calls it and hands the
    result here — this module never checks a card itself.
    """

    card_number: str
    bank_code: str
    bank_name: str
    bin: str
    bank_mobile: str
    bank_mobile_bidx: str
    check_id: str  # the ``account_check_results`` row that passed


def replace_bound_card(
    session: Session, clock: Clock, *, account_id: str, card: VerifiedCard, actor: str
) -> BoundCard:
    """Swap the bound card in the caller's transaction (nothing may be with the rail)."""
    account = lock_account(session, account_id)
    if account.status == AccountStatus.CLOSED:
        raise AccountClosed("the account is closed", account_id=account_id)
    if account.status == AccountStatus.FROZEN:
        raise AccountFrozen("the account is frozen", account_id=account_id)
    check_no_transfers(session, account)
    old = active_bound_card(session, account_id)
    now = clock.now()
    old.status = CardStatus.REPLACED.value
    old.replaced_at = now
    new = BoundCard(
        account_id=account_id,
        card_number=card.card_number,
        masked_number=mask_card(card.card_number),
        bank_code=card.bank_code,
        bank_name=card.bank_name,
        bin=card.bin,
        bank_mobile_bidx=card.bank_mobile_bidx,
        bank_mobile_masked=mask_phone(card.bank_mobile),
        status=CardStatus.ACTIVE.value,
        bound_at=now,
    )
    session.add(new)
    session.flush()
    record(
        session,
        clock,
        actor=actor,
        action="accounts.bound_card_replaced",
        subject=account_id,
        old_card=old.masked_number,
        new_card=new.masked_number,
        check_id=card.check_id,
    )
    return new


def check_no_transfers(session: Session, account: ClassIIAccount) -> None:
    in_flight = session.scalar(
        select(func.count()).where(
            FundTransfer.account_id == account.id,
            FundTransfer.status == TransferStatus.PROCESSING.value,
        )
    )
    if in_flight:
        raise TransfersInFlight(f"{in_flight} transfer(s) still with the card rail")
