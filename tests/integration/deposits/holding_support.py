"""Customers with a funded Class II account, for the holding tests.

The account-opening flow (KYC) is exercised by the accounts tests; here a customer, its Class II
account row and ledger balance are created directly, and the balance is funded with a top-up
entry from card clearing, as a bound-card top-up would post it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from greenbank.accounts.models import AccountStatus, ClassIIAccount
from greenbank.bootstrap import Container
from greenbank.customers.models import Customer, CustomerStatus
from greenbank.ids import new_id
from greenbank.ledger import commands, service
from greenbank.ledger.accounts import CARD_CLEARING
from greenbank.ledger.domain import EntryCode, EntrySpec


def open_funded_account(container: Container, balance_fen: int, *, name: str = "张三") -> str:
    """A verified customer with an active Class II account holding ``balance_fen``; its id."""
    now = container.clock.now()
    with container.uow() as unit:
        session = unit.session
        service.ensure_chart_of_accounts(session, clock=container.clock)
        number = session.scalar(select(func.count()).select_from(ClassIIAccount)) or 0
        customer = Customer(
            phone=f"138{number:08d}",
            name=name,
            status=CustomerStatus.VERIFIED.value,
            created_at=now,
            updated_at=now,
        )
        session.add(customer)
        session.flush()
        ledger_account = service.open_customer_account(
            session, clock=container.clock, customer_id=customer.id
        )
        session.add(
            ClassIIAccount(
                customer_id=customer.id,
                account_number=f"62{number:017d}",
                ledger_account_id=ledger_account.id,
                status=AccountStatus.ACTIVE.value,
                branch_code="440100",
                opened_at=now,
                updated_at=now,
            )
        )
        unit.commit()
        customer_id = customer.id
    if balance_fen:
        top_up(container, customer_id, balance_fen)
    return customer_id


def top_up(container: Container, customer_id: str, amount_fen: int) -> None:
    commands.post_entry(
        uow_factory=container.uow,
        clock=container.clock,
        spec=EntrySpec.transfer(
            code=EntryCode.TOP_UP,
            idempotency_key=f"test-top-up:{new_id()}",
            debit=CARD_CLEARING,
            credit=service.customer_account_code(customer_id),
            amount_fen=amount_fen,
        ),
    )


def set_account_status(container: Container, customer_id: str, status: AccountStatus) -> None:
    with container.uow() as unit:
        account = unit.session.scalars(
            select(ClassIIAccount).where(ClassIIAccount.customer_id == customer_id)
        ).one()
        account.status = status.value
        unit.commit()


def balance(container: Container, customer_id: str) -> int:
    account = service.customer_account_code(customer_id)
    return commands.balance(
        uow_factory=container.uow, clock=container.clock, account=account
    ).balance_fen


def holding_balance(container: Container, holding_id: str) -> int:
    account = service.holding_account_code(holding_id)
    return commands.balance(
        uow_factory=container.uow, clock=container.clock, account=account
    ).balance_fen
