"""Staff publish a new methodology version without a code change (maker-checker).

draft (any manager) -> ``submit``: parsed and validated against its worked examples and the
versions already published -> pending_approval -> ``approve`` by a *different* staff member ->
published. ``reject`` sends it back to draft; ``retire`` withdraws a draft or pending version.
Published rows are never edited. Approving a version whose ``effective_from`` is in the past
reports that credited history needs re-computing (``recomputation.run``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.carbon.catalog import json_safe, parsed
from greenbank.carbon.errors import (
    MakerCheckerViolation,
    MethodologyNotFound,
    MethodologyStateConflict,
)
from greenbank.carbon.loader import parse_methodology
from greenbank.carbon.methodology import Methodology, MethodologyInvalid, succession_problems
from greenbank.carbon.models import (
    DRAFT,
    PENDING_APPROVAL,
    PUBLISHED,
    RETIRED,
    Entry,
    MethodologyRow,
    Scenario,
)
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.errors import ValidationFailed


@dataclass(frozen=True)
class MethodologyView:
    id: str
    scenario: str
    version: int
    name: str
    status: str
    effective_from: date
    definition: dict[str, Any]
    problems: list[str]
    provisional: bool
    created_by: str
    created_at: datetime
    submitted_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    recompute_needed: bool = False


def view(row: MethodologyRow, *, recompute_needed: bool = False) -> MethodologyView:
    provisional = False
    if row.status == PUBLISHED:
        provisional = parsed(row.id, row.definition).provisional
    return MethodologyView(
        id=row.id,
        scenario=row.scenario,
        version=row.version,
        name=row.name,
        status=row.status,
        effective_from=row.effective_from,
        definition=row.definition,
        problems=list(row.problems),
        provisional=provisional,
        created_by=row.created_by,
        created_at=row.created_at,
        submitted_by=row.submitted_by,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        recompute_needed=recompute_needed,
    )


def list_methodologies(
    uow_factory: UowFactory, *, scenario: str | None = None
) -> list[MethodologyView]:
    with uow_factory() as uow:
        query = select(MethodologyRow).order_by(MethodologyRow.scenario, MethodologyRow.version)
        if scenario is not None:
            query = query.where(MethodologyRow.scenario == scenario)
        return [view(row) for row in uow.session.scalars(query)]


def create_draft(
    uow_factory: UowFactory, clock: Clock, *, actor: str, definition: Mapping[str, Any]
) -> MethodologyView:
    """Store a draft. Problems are recorded, not raised: a draft may be work in progress."""
    entry = json_safe(definition)
    scenario, version = entry.get("scenario"), entry.get("version")
    if not isinstance(scenario, str) or not isinstance(version, int) or isinstance(version, bool):
        raise ValidationFailed("a definition needs a scenario code and an integer version")
    with uow_factory() as uow:
        session = uow.session
        problems = _problems(entry, _published(session, scenario))
        taken = session.scalar(
            select(MethodologyRow.id).where(
                MethodologyRow.scenario == scenario, MethodologyRow.version == version
            )
        )
        if taken is not None:
            raise MethodologyStateConflict(f"{scenario} v{version} exists already")
        now = clock.now()
        if session.get(Scenario, scenario) is None:  # a new scenario goes live on approval
            session.add(
                Scenario(
                    code=scenario,
                    name=str(entry.get("name", scenario))[:100],
                    enabled=False,
                    created_at=now,
                )
            )
        row = MethodologyRow(
            scenario=scenario,
            version=version,
            name=str(entry.get("name", ""))[:100],
            status=DRAFT,
            effective_from=_effective(entry),
            definition=entry,
            problems=problems,
            created_by=actor,
            created_at=now,
        )
        session.add(row)
        session.flush()
        record(session, clock, actor=actor, action="carbon.methodology.draft", subject=row.id)
        result = view(row)
        uow.commit()
        return result


def submit(
    uow_factory: UowFactory, clock: Clock, *, actor: str, methodology_id: str
) -> MethodologyView:
    """Validate against the worked examples and the published versions; refuse with the list."""
    with uow_factory() as uow:
        session = uow.session
        row = _row(session, methodology_id, DRAFT)
        row.problems = _problems(row.definition, _published(session, row.scenario))
        if row.problems:
            uow.commit()  # keep the problems on the draft for the editor
            raise MethodologyInvalid("; ".join(row.problems), problems=row.problems)
        row.status, row.submitted_by, row.submitted_at = PENDING_APPROVAL, actor, clock.now()
        record(session, clock, actor=actor, action="carbon.methodology.submit", subject=row.id)
        result = view(row)
        uow.commit()
        return result


def approve(
    uow_factory: UowFactory, clock: Clock, *, actor: str, methodology_id: str
) -> MethodologyView:
    """Publish: the checker must be neither the maker nor the submitter."""
    with uow_factory() as uow:
        session = uow.session
        row = _row(session, methodology_id, PENDING_APPROVAL, lock=True)
        if actor in {row.created_by, row.submitted_by}:
            raise MakerCheckerViolation(f"{actor} drafted or submitted this version")
        problems = _problems(row.definition, _published(session, row.scenario))
        if problems:
            raise MethodologyInvalid("; ".join(problems), problems=problems)
        now = clock.now()
        row.status, row.approved_by, row.approved_at = PUBLISHED, actor, now
        scenario = session.get(Scenario, row.scenario)
        if scenario is not None:
            scenario.enabled = True
        session.flush()
        needed = bool(
            row.effective_from <= business_date(now)
            and session.scalar(
                select(
                    exists().where(
                        Entry.scenario == row.scenario, Entry.business_date >= row.effective_from
                    )
                )
            )
        )
        record(
            session,
            clock,
            actor=actor,
            action="carbon.methodology.approve",
            subject=row.id,
            scenario=row.scenario,
            version=row.version,
            recompute_needed=needed,
        )
        result = view(row, recompute_needed=needed)
        uow.commit()
        return result


def reject(
    uow_factory: UowFactory, clock: Clock, *, actor: str, methodology_id: str, reason: str
) -> MethodologyView:
    with uow_factory() as uow:
        row = _row(uow.session, methodology_id, PENDING_APPROVAL, lock=True)
        row.status, row.submitted_by, row.submitted_at = DRAFT, None, None
        row.problems = [f"rejected by {actor}: {reason}"]
        record(
            uow.session,
            clock,
            actor=actor,
            action="carbon.methodology.reject",
            subject=row.id,
            reason=reason,
        )
        result = view(row)
        uow.commit()
        return result


def retire(
    uow_factory: UowFactory, clock: Clock, *, actor: str, methodology_id: str
) -> MethodologyView:
    """Withdraw a draft or pending version (published history is never withdrawn)."""
    with uow_factory() as uow:
        row = _row(uow.session, methodology_id, None, lock=True)
        if row.status not in {DRAFT, PENDING_APPROVAL}:
            raise MethodologyStateConflict(f"a {row.status} version cannot be retired")
        row.status, row.retired_at = RETIRED, clock.now()
        record(uow.session, clock, actor=actor, action="carbon.methodology.retire", subject=row.id)
        result = view(row)
        uow.commit()
        return result


def _row(
    session: Session, methodology_id: str, status: str | None, *, lock: bool = False
) -> MethodologyRow:
    query = select(MethodologyRow).where(MethodologyRow.id == methodology_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise MethodologyNotFound()
    if status is not None and row.status != status:
        raise MethodologyStateConflict(f"the version is {row.status}, not {status}")
    return row


def _published(session: Session, scenario: str) -> list[Methodology]:
    rows = session.execute(
        select(MethodologyRow.id, MethodologyRow.definition).where(
            MethodologyRow.scenario == scenario, MethodologyRow.status == PUBLISHED
        )
    ).all()
    return [parsed(row_id, definition) for row_id, definition in rows]


def _problems(entry: Mapping[str, Any], published: list[Methodology]) -> list[str]:
    try:
        methodology = parse_methodology(entry)
    except MethodologyInvalid as exc:
        return list(exc.extra.get("problems") or [exc.detail])
    return succession_problems(published, methodology)


def _effective(entry: Mapping[str, Any]) -> date:
    try:
        return date.fromisoformat(str(entry.get("effective_from")))
    except ValueError as exc:
        raise ValidationFailed("effective_from must be a date (YYYY-MM-DD)") from exc


def latest_versions(session: Session) -> dict[str, int]:
    """The latest published version per scenario (for listings)."""
    rows = session.execute(
        select(MethodologyRow.scenario, func.max(MethodologyRow.version))
        .where(MethodologyRow.status == PUBLISHED)
        .group_by(MethodologyRow.scenario)
    ).all()
    return {scenario: int(version) for scenario, version in rows}
