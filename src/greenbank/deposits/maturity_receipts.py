"""The electronic receipts of a maturity settlement: interest paid and principal at maturity.

Each settled holding gets, in the transaction that posts its settlement entries:

* an ``interest`` receipt (when interest > 0): payer the bank's interest expense account, payee
  the customer's Class II account (a return) or the deposit itself (a rollover, where the
  interest is added to the renewed principal); it shows the matured contract;
* a ``maturity`` receipt: a return pays the principal from the deposit to the Class II account
  and shows the matured contract; a rollover shows the renewed principal moving from the matured
  deposit into the renewed one, with the renewed rate, value date and maturity.

Both are named ``(deposit_interest | deposit_maturity, "{holding id}:{cycle}")``, the cycle being
the one the settlement closed, so a re-run (or a retried batch) never issues twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts import service as accounts
from greenbank.bootstrap import Container
from greenbank.clock import Clock
from greenbank.customers.models import Customer
from greenbank.deposits.interest import Holding
from greenbank.deposits.models import Product
from greenbank.deposits.purchase import Receipting
from greenbank.ledger import service as ledger
from greenbank.ledger.accounts import INTEREST_EXPENSE
from greenbank.receipts.issue import PartyIn, ReceiptRequest, issue_receipt
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.runtime import runtime


@dataclass(frozen=True, slots=True)
class SettledNote:
    """What the receipts of one settled holding print, noted while the batch is planned."""

    holding_id: str
    customer_id: str
    product_id: str
    cycle: int
    interest_fen: int
    principal_fen: int  # returned to the balance, or the renewed principal
    matured: Holding
    renewed: Holding | None  # the renewed contract of a rollover; None when returned

    @property
    def rolled(self) -> bool:
        return self.renewed is not None


def maturity_receipting(container: Container) -> Receipting:
    """The job's receipting (the CLI and the scheduler): the process's bank name and code key."""
    rt = runtime(container)
    return Receipting(rt.bank_name, rt.code_key)


def issue_settlement_receipts(
    session: Session,
    clock: Clock,
    receipting: Receipting | None,
    notes: Sequence[SettledNote],
    *,
    roll_entry: str | None,
    return_entry: str | None,
) -> None:
    """Issue each settled holding's receipts in the caller's (posting) transaction."""
    if receipting is None or not notes:
        return
    customers = {n.customer_id for n in notes}
    names = dict(
        session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customers))).all()
    )
    products = dict(
        session.execute(
            select(Product.id, Product.name).where(Product.id.in_({n.product_id for n in notes}))
        ).all()
    )
    numbers = {c: _account_number(session, c) for c in customers}
    bank = receipting.bank_name
    interest_party = PartyIn(name=bank, account=INTEREST_EXPENSE, bank=bank, organisation=True)
    for note in notes:
        balance = PartyIn(
            name=names.get(note.customer_id) or note.customer_id,
            account=numbers[note.customer_id],
            bank=bank,
        )
        deposit = balance.model_copy(update={"bank": f"{bank}（定期）"})
        source_id = f"{note.holding_id}:{note.cycle}"
        common = {
            "source_id": source_id,
            "customer_id": note.customer_id,
            "time": clock.now(),
            "serial_no": (roll_entry if note.rolled else return_entry) or source_id,
            "product": products[note.product_id],
        }
        sides: list[tuple[ReceiptType, PartyIn, PartyIn, int, Holding]] = []
        if note.interest_fen > 0:
            payee = deposit if note.rolled else balance
            sides.append(
                (ReceiptType.INTEREST, interest_party, payee, note.interest_fen, note.matured)
            )
        if note.principal_fen > 0:
            payee, shown = (
                (deposit, note.renewed or note.matured) if note.rolled else (balance, note.matured)
            )
            sides.append((ReceiptType.MATURITY, deposit, payee, note.principal_fen, shown))
        for kind, payer, payee, amount, contract in sides:
            request = ReceiptRequest(
                type=kind,
                source_type=f"deposit_{kind.value}",
                payer=payer,
                payee=payee,
                amount_fen=amount,
                term=contract.term.label,
                rate=contract.annual_rate,
                value_date=contract.value_date,
                maturity_date=contract.maturity,
                **common,
            )
            issue_receipt(session, request, clock=clock, code_key=receipting.code_key)


def _account_number(session: Session, customer_id: str) -> str:
    """The Class II account number; the ledger code if the account has since been closed."""
    account = accounts.get_open_account(session, customer_id)
    return account.account_number if account else ledger.customer_account_code(customer_id)
