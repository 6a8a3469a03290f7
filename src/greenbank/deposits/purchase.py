"""Buying a time deposit with the Class II balance: one transaction, idempotent per key.

Lock order (every money command of this domain keeps it, so they never deadlock each other):
**the customer's Class II account row first**, then the holding and ledger balance rows (the
ledger locks them in account-id order), then the product row, then the receipt counter of the
day. The account lock serialises one customer's commands, which makes the idempotency look-up
and the per-customer limit exact (the limit is read from the product, the holdings summed under
that lock). The receipt counter is a hot row every posting queues on until commit; it is taken
at commit (``receipts.numbering``). A product with a total quota is another: such a purchase
does all its per-customer work first (contract from an unlocked read of the product, entry,
holding, rate bonus, event) and takes the quota last, in one conditional UPDATE that re-checks
the sale. A product without a quota is not written to at all: a purchase that read it on sale
before a pause completes, like any sale already in flight. (Sales figures come from the
holdings.) The maturity job never takes account rows, so it cannot join a cycle either.

The ledger refuses an overdraft (``insufficient_funds``) before any quota is taken, and a
refused purchase rolls back whole: no quota, no holding, no entry — only an audit line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from greenbank.accounts import service as accounts
from greenbank.accounts.models import AccountStatus
from greenbank.audit.service import record_refusal
from greenbank.bus import publish
from greenbank.clock import Clock, business_date
from greenbank.customers.models import Customer
from greenbank.db import UowFactory, run_with_retry
from greenbank.deposits.catalogue import product_by_code
from greenbank.deposits.events import DepositPurchased
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingStatus,
    MaturityOption,
)
from greenbank.deposits.models import Product
from greenbank.deposits.quota import check_purchase, opening_holding, take_quota
from greenbank.errors import Conflict, GreenbankError, ValidationFailed
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused
from greenbank.idempotency import check_key, fingerprint
from greenbank.ids import new_id
from greenbank.ledger import service as ledger
from greenbank.ledger.domain import EntryCode, EntrySpec
from greenbank.receipts.issue import PartyIn, ReceiptRequest, issue_receipt
from greenbank.receipts.render import ReceiptType
from greenbank.rewards import rate_bonus

T = TypeVar("T")


class AccountNotActive(Conflict):
    code = "account_not_active"
    title = "The Class II account is restricted, frozen or closed"


class MaturityOptionNotAllowed(ValidationFailed):
    code = "maturity_option_not_allowed"
    title = "The product does not offer this maturity option"


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    holding: DepositHolding
    product_code: str
    product_name: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class Class2:
    """The customer's Class II account as a money command needs it."""

    ledger_code: str
    account_number: str


def lock_class2_account(session: Session, customer_id: str, *, purpose: str) -> Class2:
    """Lock the customer's Class II account row (the first lock of every money command).

    A purchase (``purpose="debit"``) needs an ``active`` account; money coming back
    (``"credit"``) is also allowed into a ``restricted`` one, whose money may still go out to
    the bound card. Frozen and closed accounts refuse both.
    """
    account = accounts.lock_open_account(session, customer_id)
    allowed = {AccountStatus.ACTIVE.value}
    if purpose == "credit":
        allowed.add(AccountStatus.RESTRICTED.value)
    if account.status not in allowed:
        raise AccountNotActive(status=account.status)
    return Class2(ledger.customer_account_code(customer_id), account.account_number)


@dataclass(frozen=True, slots=True)
class Receipting:
    """What issuing a receipt needs from the process (``receipts.runtime``). Services given
    ``None`` issue no receipt (scripts, benchmarks of the posting path alone)."""

    bank_name: str
    code_key: bytes


def issue_receipt_for(
    session: Session,
    clock: Clock,
    receipting: Receipting | None,
    *,
    kind: ReceiptType,
    source_id: str,
    customer_id: str,
    class2: Class2,
    amount_fen: int,
    serial_no: str,
    **printed: Any,
) -> None:
    """The receipt of a purchase (balance -> deposit) or a payout (deposit -> balance), in the
    posting transaction: it is numbered at commit and commits with the money. ``source_id`` (the
    holding or the payout) is new in this transaction, so it has no receipt yet."""
    if receipting is None:
        return
    with session.no_autoflush:  # the customer row is not being written: pending rows can wait
        name = session.get_one(Customer, customer_id).name or customer_id
    balance = PartyIn(name=name, account=class2.account_number, bank=receipting.bank_name)
    deposit = balance.model_copy(update={"bank": f"{receipting.bank_name}（定期）"})
    payer, payee = (
        (balance, deposit) if kind is ReceiptType.DEPOSIT_PURCHASE else (deposit, balance)
    )
    request = ReceiptRequest(
        type=kind,
        source_type=f"deposits.{kind.value}",
        source_id=source_id,
        customer_id=customer_id,
        time=clock.now(),
        serial_no=serial_no,
        payer=payer,
        payee=payee,
        amount_fen=amount_fen,
        **printed,
    )
    issue_receipt(session, request, clock=clock, code_key=receipting.code_key, new_source=True)


def audited(
    uow: UowFactory, clock: Clock, work: Callable[[], T], *, actor: str, action: str, **detail: Any
) -> T:
    """Run a customer command (retried whole on deadlock); a refusal leaves an audit line."""
    try:
        return run_with_retry(work)
    except GreenbankError as err:
        record_refusal(uow, clock, err, actor=actor, action=action, **detail)
        raise


def _choose_option(product: Product, wanted: MaturityOption | None) -> MaturityOption:
    allowed = [
        option
        for option, ok in (
            (MaturityOption.ROLLOVER, product.rollover_allowed),
            (MaturityOption.RETURN_TO_BALANCE, product.return_to_balance_allowed),
        )
        if ok
    ]
    if wanted is None:
        return allowed[0]
    if wanted not in allowed:
        raise MaturityOptionNotAllowed(option=wanted.value, product_code=product.code)
    return wanted


def _customer_total(session: Session, customer_id: str, product: Product) -> int:
    """What the customer holds in the product now (only needed when it has a per-customer cap)."""
    if product.per_customer_limit_fen is None:
        return 0
    total = session.scalar(
        select(func.coalesce(func.sum(DepositHolding.principal_fen), 0)).where(
            DepositHolding.customer_id == customer_id,
            DepositHolding.product_id == product.id,
            DepositHolding.status == HoldingStatus.ACTIVE,
        )
    )
    return int(total or 0)


_BY_KEY = (  # built once: every purchase looks
    select(DepositHolding, Product.code, Product.name)
    .join(Product, Product.id == DepositHolding.product_id)
    .where(
        DepositHolding.customer_id == bindparam("customer_id"),
        DepositHolding.idempotency_key == bindparam("key"),
    )
)


def _replay(session: Session, customer_id: str, key: str, print_: str) -> PurchaseResult | None:
    row = session.execute(_BY_KEY, {"customer_id": customer_id, "key": key}).first()
    if row is None:
        return None
    holding, code, name = row
    if holding.fingerprint != print_:
        raise IdempotencyKeyReused(holding_id=holding.id)
    return PurchaseResult(holding, code, name, replayed=True)


def purchase(
    *,
    uow: UowFactory,
    clock: Clock,
    customer_id: str,
    product_code: str,
    amount_fen: int,
    idempotency_key: str,
    maturity_option: MaturityOption | None = None,
    receipting: Receipting | None = None,
) -> PurchaseResult:
    """Buy ``amount_fen`` of ``product_code`` today; a retried key returns the first result."""
    key = check_key(idempotency_key)
    print_ = fingerprint(
        product=product_code,
        amount_fen=amount_fen,
        option=None if maturity_option is None else maturity_option.value,
    )

    def attempt() -> PurchaseResult:
        with uow() as unit:
            result = _purchase(
                unit.session,
                clock,
                customer_id=customer_id,
                product_code=product_code,
                amount_fen=amount_fen,
                key=key,
                print_=print_,
                wanted=maturity_option,
                receipting=receipting,
            )
            unit.commit()
            return result

    return audited(
        uow,
        clock,
        attempt,
        actor=f"customer:{customer_id}",
        action="deposits.purchase",
        product_code=product_code,
        amount_fen=amount_fen,
    )


def _purchase(
    session: Session,
    clock: Clock,
    *,
    customer_id: str,
    product_code: str,
    amount_fen: int,
    key: str,
    print_: str,
    wanted: MaturityOption | None,
    receipting: Receipting | None,
) -> PurchaseResult:
    class2 = lock_class2_account(session, customer_id, purpose="debit")
    replayed = _replay(session, customer_id, key, print_)
    if replayed is not None:
        return replayed
    now = clock.now()
    product = product_by_code(session, product_code)
    option = _choose_option(product, wanted)
    total = _customer_total(session, customer_id, product)
    # Checked on the unlocked row; take_quota re-checks under the product lock at the end.
    check_purchase(product, amount_fen=amount_fen, customer_total_fen=total, now=now)
    contract = opening_holding(session, product, amount_fen, business_date(now))
    bonus = rate_bonus.find_applicable_rate_bonus(
        session, customer_id, product, amount_fen, contract.value_date
    )  # a green deposit uses the customer's best valid rate-bonus coupon (rewards)
    holding_id = new_id()
    ledger.open_holding_account(
        session, clock=clock, holding_id=holding_id, customer_id=customer_id
    )
    entry = ledger.post_entry(
        session,
        clock=clock,
        spec=EntrySpec.transfer(
            code=EntryCode.DEPOSIT_PURCHASE,
            idempotency_key=f"deposits:purchase:{holding_id}",
            debit=class2.ledger_code,
            credit=ledger.holding_account_code(holding_id),
            amount_fen=amount_fen,
            description=f"定期存款购买 {product_code}",
            metadata={"holding_id": holding_id, "product_code": product_code},
        ),
    )
    holding = DepositHolding(
        id=holding_id,
        customer_id=customer_id,
        product_id=product.id,
        idempotency_key=key,
        fingerprint=print_,
        opening_principal_fen=amount_fen,
        principal_fen=amount_fen,
        rate=contract.annual_rate,
        term=contract.term,
        day_count=contract.day_count,
        value_date=contract.value_date,
        maturity_date=contract.maturity,
        maturity_option=option,
        partial_withdrawn=False,
        cycle=0,
        status=HoldingStatus.ACTIVE,
        purchase_entry_id=entry.id,
        opened_at=now,
        updated_at=now,
        closed_at=None,
    )
    session.add(holding)
    if bonus is not None:
        rate_bonus.consume_rate_bonus(
            session, bonus.coupon_id, holding_id, clock=clock, customer_id=customer_id,
            amount_fen=amount_fen, value_date=contract.value_date, maturity_date=contract.maturity,
        )  # fmt: skip
    publish(
        session,
        DepositPurchased(
            holding_id=holding_id,
            customer_id=customer_id,
            product_code=product.code,
            amount_fen=amount_fen,
            term=contract.term.label,
            purchased_at=now,
        ),
        aggregate_type="deposit_holding",
        aggregate_id=holding_id,
        headers={"idempotency_key": key},
        clock=clock,
        new_aggregate=True,
    )
    issue_receipt_for(
        session,
        clock,
        receipting,
        kind=ReceiptType.DEPOSIT_PURCHASE,
        source_id=holding_id,
        customer_id=customer_id,
        class2=class2,
        amount_fen=amount_fen,
        serial_no=entry.id,
        product=product.name,
        term=contract.term.label,
        rate=contract.annual_rate,
        rate_bonus=None if bonus is None else bonus.bonus_rate,
        value_date=contract.value_date,
        maturity_date=contract.maturity,
    )
    if product.total_quota_fen is not None:  # last: the product row is then every buyer's
        take_quota(session, product.id, amount_fen, total, now=now)
    session.flush()
    return PurchaseResult(holding, product.code, product.name, replayed=False)
