"""Ledger commands that own their transaction (CLI, tests, scripts, read-only routers).

Each command opens one unit of work from ``uow_factory``, runs the matching step of
``greenbank.ledger.service`` on its session, commits once and is retried as a whole on a
deadlock or serialization failure. Arguments are keyword-only, as in every greenbank command.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.ledger import domain, fast_path, service
from greenbank.ledger.domain import EntrySpec
from greenbank.ledger.posting import new_entry
from greenbank.ledger.schemas import AccountOut, BalanceOut, EntryOut, HoldOut, StatementPage
from greenbank.ledger.verify import VerifyReport

P = ParamSpec("P")
T = TypeVar("T")


def in_transaction(
    uow_factory: UowFactory,
    step: Callable[Concatenate[Session, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run one step in its own unit of work: commit once, retry the whole on deadlock."""

    def attempt() -> T:
        with uow_factory() as uow:
            result = step(uow.session, *args, **kwargs)
            uow.commit()
            return result

    return run_with_retry(attempt)


def in_snapshot(
    uow_factory: UowFactory,
    step: Callable[Concatenate[Session, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run a read-only step on one consistent snapshot, without taking SQLite's write lock."""
    with uow_factory() as uow:
        dialect = uow.session.get_bind().dialect.name
        options = (
            {"isolation_level": "REPEATABLE READ"}
            if dialect == "postgresql"
            else {"sqlite_begin": "DEFERRED"}
        )
        uow.session.connection(execution_options=options)
        return step(uow.session, *args, **kwargs)


def post_entry(*, uow_factory: UowFactory, clock: Clock, spec: EntrySpec) -> EntryOut:
    """Post one entry. On PostgreSQL a plain entry is one autocommit statement (ADR 0009);
    anything else (a replay, a refusal, a failed call) runs the whole path on a unit of work."""
    domain.check_shape(spec)
    draft, fingerprint = new_entry(spec, clock.now()), domain.entry_fingerprint(spec)
    engine = uow_factory().engine
    if fast_path.applies(engine) and fast_path.post_alone(engine, draft, fingerprint=fingerprint):
        return draft
    return in_transaction(
        uow_factory, service.post_draft, spec=spec, draft=draft, fingerprint=fingerprint
    )


def reverse_entry(
    *, uow_factory: UowFactory, clock: Clock, entry_id: str, idempotency_key: str, reason: str
) -> EntryOut:
    return in_transaction(
        uow_factory,
        service.reverse_entry,
        clock=clock,
        entry_id=entry_id,
        idempotency_key=idempotency_key,
        reason=reason,
    )


def hold(
    *,
    uow_factory: UowFactory,
    clock: Clock,
    account: str,
    amount_fen: int,
    idempotency_key: str,
    expires_at: datetime,
    description: str = "",
) -> HoldOut:
    return in_transaction(
        uow_factory,
        service.hold,
        clock=clock,
        account=account,
        amount_fen=amount_fen,
        idempotency_key=idempotency_key,
        expires_at=expires_at,
        description=description,
    )


def post_hold(*, uow_factory: UowFactory, clock: Clock, hold_id: str, spec: EntrySpec) -> EntryOut:
    return in_transaction(uow_factory, service.post_hold, clock=clock, hold_id=hold_id, spec=spec)


def void_hold(*, uow_factory: UowFactory, clock: Clock, hold_id: str) -> HoldOut:
    return in_transaction(uow_factory, service.void_hold, clock=clock, hold_id=hold_id)


def expire_holds(*, uow_factory: UowFactory, clock: Clock) -> int:
    return in_transaction(uow_factory, service.expire_holds, clock=clock)


def ensure_chart_of_accounts(*, uow_factory: UowFactory, clock: Clock) -> list[AccountOut]:
    return in_transaction(uow_factory, service.ensure_chart_of_accounts, clock=clock)


def open_customer_account(*, uow_factory: UowFactory, clock: Clock, customer_id: str) -> AccountOut:
    return in_transaction(
        uow_factory, service.open_customer_account, clock=clock, customer_id=customer_id
    )


def open_holding_account(
    *, uow_factory: UowFactory, clock: Clock, holding_id: str, customer_id: str
) -> AccountOut:
    return in_transaction(
        uow_factory,
        service.open_holding_account,
        clock=clock,
        holding_id=holding_id,
        customer_id=customer_id,
    )


def close_account(*, uow_factory: UowFactory, code: str) -> AccountOut:
    return in_transaction(uow_factory, service.close_account, code=code)


def verify_ledger(*, uow_factory: UowFactory) -> VerifyReport:
    return in_snapshot(uow_factory, service.verify_ledger)


def balance(*, uow_factory: UowFactory, clock: Clock, account: str) -> BalanceOut:
    return in_snapshot(uow_factory, service.balance, clock=clock, account=account)


def balance_as_of(*, uow_factory: UowFactory, account: str, on: date) -> int:
    return in_snapshot(uow_factory, service.balance_as_of, account=account, on=on)


def statement(
    *,
    uow_factory: UowFactory,
    account: str,
    limit: int = 50,
    cursor: str | None = None,
    newest_first: bool = True,
) -> StatementPage:
    return in_snapshot(
        uow_factory,
        service.statement,
        account=account,
        limit=limit,
        cursor=cursor,
        newest_first=newest_first,
    )
