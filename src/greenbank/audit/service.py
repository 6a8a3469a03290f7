"""Recording and reading audit lines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.audit.models import AuditLine
from greenbank.clock import Clock
from greenbank.logs import current_request_id


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


def recent(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditLine]:
    query = select(AuditLine).order_by(AuditLine.at.desc(), AuditLine.id.desc()).limit(limit)
    if action:
        query = query.where(AuditLine.action == action)
    return list(session.scalars(query))
