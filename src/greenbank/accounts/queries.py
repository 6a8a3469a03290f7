"""Reads for customers and staff: the account with masked numbers and balances, the history of
the Class II balance, top-ups and withdrawals, and finding a customer by ID, mobile or card.

Personal data leaves here masked only. Look-ups by ID number, mobile or card go through the
blind indexes, so the plaintext never reaches SQL.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts.aml_service import day_start
from greenbank.accounts.errors import AccountNotFound
from greenbank.accounts.funds_errors import SearchCriteriaInvalid, TransferNotFound
from greenbank.accounts.funds_models import FundTransfer
from greenbank.accounts.funds_schemas import (
    AccountOverview,
    CustomerMatch,
    HistoryLine,
    HistoryPage,
    TransferOut,
    TransferPage,
)
from greenbank.accounts.models import AccountStatus, BoundCard, CardStatus, ClassIIAccount
from greenbank.clock import Clock
from greenbank.crypto import KeyRing, mask_card, mask_id_number, mask_name, mask_phone
from greenbank.customers import registry
from greenbank.customers.models import Customer
from greenbank.db import UowFactory
from greenbank.errors import ValidationFailed
from greenbank.ledger import service as ledger
from greenbank.pii import matches

MAX_PAGE = 100
HISTORY_SCAN = 1_000  # ledger lines looked at per request before handing back a cursor


def _customer_account(session: Session, customer_id: str) -> ClassIIAccount:
    """The open account, or the latest closed one (a closed account's history stays readable)."""
    rows = session.scalars(
        select(ClassIIAccount)
        .where(ClassIIAccount.customer_id == customer_id)
        .order_by(ClassIIAccount.opened_at.desc())
    ).all()
    if not rows:
        raise AccountNotFound("this customer has no Class II account")
    return next((a for a in rows if a.status != AccountStatus.CLOSED), rows[0])


def _account(
    session: Session, *, customer_id: str | None, account_id: str | None
) -> ClassIIAccount:
    if account_id is None:
        assert customer_id is not None
        return _customer_account(session, customer_id)
    found = session.get(ClassIIAccount, account_id)
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise AccountNotFound(f"no Class II account {account_id}", account_id=account_id)
    return found


def overview(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    customer_id: str | None = None,
    account_id: str | None = None,
) -> AccountOverview:
    """Account details with masked numbers, the balance and what is available now."""
    with uow_factory() as uow:
        session = uow.session
        account = _account(session, customer_id=customer_id, account_id=account_id)
        card = session.scalar(
            select(BoundCard).where(
                BoundCard.account_id == account.id, BoundCard.status == CardStatus.ACTIVE.value
            )
        )
        balance = ledger.balance(
            session, clock=clock, account=ledger.customer_account_code(account.customer_id)
        )
        return AccountOverview(
            account_id=account.id,
            customer_id=account.customer_id,
            account_number_masked=mask_card(account.account_number),
            status=account.status,
            status_reason=account.status_reason,
            opened_at=account.opened_at,
            closed_at=account.closed_at,
            bound_card_masked=card.masked_number if card else None,
            bound_card_bank=card.bank_name if card else None,
            balance_fen=balance.balance_fen,
            held_fen=balance.held_fen,
            available_fen=balance.available_fen,
        )


def _check_page(limit: int, date_from: date | None, date_to: date | None) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be 1-{MAX_PAGE}")
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("date_from is after date_to")


def history(
    uow_factory: UowFactory,
    *,
    customer_id: str | None = None,
    account_id: str | None = None,
    types: frozenset[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> HistoryPage:
    """The Class II balance's movements, newest first, filtered by entry type (``top_up``,
    ``withdrawal``, ``deposit_purchase`` ...) and value-date range, a page at a time."""
    _check_page(limit, date_from, date_to)
    with uow_factory() as uow:
        session = uow.session
        account = _account(session, customer_id=customer_id, account_id=account_id)
        code = ledger.customer_account_code(account.customer_id)
        lines: list[HistoryLine] = []
        scanned, position, exhausted = 0, cursor, False
        while len(lines) < limit and scanned < HISTORY_SCAN and not exhausted:
            page = ledger.statement(session, account=code, limit=200, cursor=position)
            exhausted = page.next_cursor is None
            for line in page.lines:
                scanned += 1
                position = str(line.posting_id)
                if date_from is not None and line.value_date < date_from:
                    exhausted = True  # newest first: everything after this is older
                    break
                wanted = types is None or line.entry_code in types
                if wanted and (date_to is None or line.value_date <= date_to):
                    lines.append(
                        HistoryLine(
                            entry_id=line.entry_id,
                            type=line.entry_code,
                            amount_fen=line.amount_fen,
                            balance_after_fen=line.balance_after_fen,
                            value_date=line.value_date,
                            posted_at=line.posted_at,
                            description=line.description,
                        )
                    )
                    if len(lines) == limit:
                        exhausted = exhausted and line is page.lines[-1]
                        break
        return HistoryPage(lines=lines, next_cursor=None if exhausted else position)


def transfers(
    uow_factory: UowFactory,
    *,
    customer_id: str | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> TransferPage:
    """Top-ups and withdrawals (including those still with the rail), newest first."""
    _check_page(limit, date_from, date_to)
    with uow_factory() as uow:
        session = uow.session
        account = _account(session, customer_id=customer_id, account_id=account_id)
        stmt = select(FundTransfer).where(FundTransfer.account_id == account.id)
        if kind is not None:
            stmt = stmt.where(FundTransfer.kind == kind)
        if status is not None:
            stmt = stmt.where(FundTransfer.status == status)
        if date_from is not None:
            stmt = stmt.where(FundTransfer.requested_at >= day_start(date_from))
        if date_to is not None:
            stmt = stmt.where(FundTransfer.requested_at < day_start(date_to + timedelta(days=1)))
        if cursor is not None:
            stmt = stmt.where(FundTransfer.id < cursor)  # ids are time-ordered (UUIDv7)
        rows = session.scalars(stmt.order_by(FundTransfer.id.desc()).limit(limit + 1)).all()
        items = [TransferOut.of(row) for row in rows[:limit]]
        return TransferPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)


def get_transfer(
    uow_factory: UowFactory, *, transfer_id: str, customer_id: str | None = None
) -> TransferOut:
    with uow_factory() as uow:
        found = uow.session.get(FundTransfer, transfer_id)
        if found is None or (customer_id is not None and found.customer_id != customer_id):
            raise TransferNotFound(f"no transfer {transfer_id}", transfer_id=transfer_id)
        return TransferOut.of(found)


def search_customers(
    uow_factory: UowFactory,
    keyring: KeyRing,
    *,
    id_number: str | None = None,
    phone: str | None = None,
    card_number: str | None = None,
) -> list[CustomerMatch]:
    """Staff search by exactly one of ID number, mobile or card (bound now or before)."""
    given = [v for v in (id_number, phone, card_number) if v]
    if len(given) != 1:
        raise SearchCriteriaInvalid("give exactly one of id_number, phone or card_number")
    with uow_factory() as uow:
        session = uow.session
        if id_number:
            found = registry.find_by_id_number(session, keyring, id_number)
            customers = [found] if found else []
        elif phone:
            found = registry.find_by_phone(session, keyring, phone)
            customers = [found] if found else []
        else:
            assert card_number is not None
            customers = list(
                session.scalars(
                    select(Customer)
                    .join(ClassIIAccount, ClassIIAccount.customer_id == Customer.id)
                    .join(BoundCard, BoundCard.account_id == ClassIIAccount.id)
                    .where(matches(BoundCard.card_number, card_number, keyring))
                    .distinct()
                )
            )
        return [_match(session, customer) for customer in customers]


def _match(session: Session, customer: Customer) -> CustomerMatch:
    account = session.scalars(
        select(ClassIIAccount)
        .where(ClassIIAccount.customer_id == customer.id)
        .order_by(ClassIIAccount.opened_at.desc())
    ).first()
    return CustomerMatch(
        customer_id=customer.id,
        name_masked=mask_name(customer.name) if customer.name else None,
        phone_masked=mask_phone(customer.phone),
        id_number_masked=mask_id_number(customer.id_number) if customer.id_number else None,
        customer_status=customer.status,
        account_id=account.id if account else None,
        account_status=account.status if account else None,
    )
