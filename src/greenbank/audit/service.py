"""Recording and reading audit lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.audit.models import AuditLine
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import GreenbankError
from greenbank.logs import current_request_id

T = TypeVar("T")


def record(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    subject: str | None = None,
    **detail: Any,
) -> AuditLine:
    """Add an audit line to the caller's transaction (it commits with the change it describes)."""
    line = AuditLine(
        at=clock.now(),
        actor=actor,
        action=action,
        subject=subject,
        outcome=outcome,
        request_id=current_request_id(),
        detail=detail,
    )
    session.add(line)
    return line


def record_refusal(
    uow: UowFactory,
    clock: Clock,
    err: GreenbankError,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    **detail: Any,
) -> None:
    """The audit line of a refused command, in a transaction of its own (the command's own
    transaction rolled back, so a refusal leaves this line and nothing else)."""
    with uow() as unit:
        record(
            unit.session,
            clock,
            actor=actor,
            action=action,
            outcome="refused",
            subject=subject,
            code=err.code,
            **detail,
        )
        unit.commit()


def audited_command(
    uow: UowFactory,
    clock: Clock,
    work: Callable[[Session], T],
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    **detail: Any,
) -> T:
    """Run ``work(session)`` in one unit of work (retried whole on deadlock) with an audit line;
    a refusal rolls everything back and leaves only its audit line (``record_refusal``)."""

    def attempt() -> T:
        with uow() as unit:
            result = work(unit.session)
            record(unit.session, clock, actor=actor, action=action, subject=subject, **detail)
            unit.commit()
            return result

    try:
        return run_with_retry(attempt)
    except GreenbankError as err:
        record_refusal(uow, clock, err, actor=actor, action=action, subject=subject, **detail)
        raise


def recent(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditLine]:
    query = select(AuditLine).order_by(AuditLine.at.desc(), AuditLine.id.desc()).limit(limit)
    if action:
        query = query.where(AuditLine.action == action)
    return list(session.scalars(query))
