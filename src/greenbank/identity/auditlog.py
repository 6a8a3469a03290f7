"""Reading the audit trail for auditors: filters and keyset pagination, newest first.

Keyset (not offset) pagination: the trail only grows, so a page boundary stays put while new
lines arrive, and deep pages cost the same as the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from greenbank.audit.models import AuditLine
from greenbank.db import UowFactory
from greenbank.errors import ValidationFailed


class BadCursor(ValidationFailed):
    code = "bad_cursor"
    title = "The cursor does not point at an audit line"


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def page(
    uow: UowFactory, flt: AuditFilter, *, limit: int, cursor: str | None = None
) -> tuple[list[AuditLine], str | None]:
    """Up to ``limit`` lines older than ``cursor``, and the cursor of the next page (or None)."""
    query = select(AuditLine)
    for column, value in (
        (AuditLine.actor, flt.actor),
        (AuditLine.action, flt.action),
        (AuditLine.outcome, flt.outcome),
        (AuditLine.subject, flt.subject),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.since is not None:
        query = query.where(AuditLine.at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditLine.at < flt.until)
    with uow() as work:
        if cursor is not None:
            anchor = work.session.get(AuditLine, cursor)
            if anchor is None:
                raise BadCursor()
            query = query.where(
                or_(
                    AuditLine.at < anchor.at,
                    and_(AuditLine.at == anchor.at, AuditLine.id < anchor.id),
                )
            )
        query = query.order_by(AuditLine.at.desc(), AuditLine.id.desc()).limit(limit + 1)
        lines = list(work.session.scalars(query))
        work.session.expunge_all()
    more = len(lines) > limit
    lines = lines[:limit]
    return lines, (lines[-1].id if more else None)
