"""Financial perks (the CCB model): rules as versioned data, maker-checker, evaluated on events
and nightly into rights with validity periods.

A rule version moves draft -> pending_approval -> active (approved by a different staff member
than its maker) -> retired; approving a version retires the code's previous active version.
Evaluation is repeatable: a grant's key is (rule, customer, period), UNIQUE, so the event path
and the nightly run may both ask and only the first answer is stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import Conflict, Forbidden
from greenbank.rewards import carbon_port
from greenbank.rewards.common import RewardNotFound, command, read
from greenbank.rewards.domain import CODED_KINDS, PerkKind, Rule, evaluate, parse_rule
from greenbank.rewards.models import GrantRow, RuleRow
from greenbank.rewards.schemas import EvaluationOut, GrantOut, RuleOut

DRAFT, PENDING, ACTIVE, RETIRED = "draft", "pending_approval", "active", "retired"
ISSUED, USED, REVOKED = "issued", "used", "revoked"


class RuleStateConflict(Conflict):
    code = "perk_rule_state"
    title = "The rule version is not in a state that allows this"


class MakerChecker(Forbidden):
    code = "perk_rule_maker_checker"
    title = "A rule must be approved by a different staff member than its maker"


def _rule(session: Session, rule_id: str) -> RuleRow:
    row = session.get(RuleRow, rule_id, with_for_update=True)
    if row is None:
        raise RewardNotFound(f"no perk rule {rule_id}")
    return row


def create_rule(*, uow: UowFactory, clock: Clock, definition: dict[str, Any], by: str) -> RuleOut:
    """A new draft version of a rule (version 1 for a new code)."""
    rule = parse_rule(definition, carbon_port.LEVELS)

    def work(session: Session) -> RuleOut:
        latest = session.scalar(select(func.max(RuleRow.version)).where(RuleRow.code == rule.code))
        row = RuleRow(
            code=rule.code,
            version=int(latest or 0) + 1,
            status=DRAFT,
            definition=definition,
            created_by=by,
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        return RuleOut.model_validate(row)

    return command(uow, clock, work, actor=by, action="rewards.rule.create", subject=rule.code)


def _move(
    uow: UowFactory, clock: Clock, rule_id: str, by: str, action: str, want: str, to: str
) -> RuleOut:
    def work(session: Session) -> RuleOut:
        row = _rule(session, rule_id)
        if row.status != want:
            raise RuleStateConflict(f"rule {row.code} v{row.version} is {row.status}")
        now = clock.now()
        if to == PENDING:
            row.submitted_by, row.submitted_at = by, now
        elif to == ACTIVE:
            if by in {row.created_by, row.submitted_by}:
                raise MakerChecker(maker=row.created_by)
            for old in session.scalars(
                select(RuleRow).where(RuleRow.code == row.code, RuleRow.status == ACTIVE)
            ):
                old.status, old.retired_at = RETIRED, now
            row.approved_by, row.approved_at = by, now
        else:
            row.retired_at = now
        row.status = to
        session.flush()
        return RuleOut.model_validate(row)

    return command(uow, clock, work, actor=by, action=f"rewards.rule.{action}", subject=rule_id)


def submit_rule(*, uow: UowFactory, clock: Clock, rule_id: str, by: str) -> RuleOut:
    return _move(uow, clock, rule_id, by, "submit", DRAFT, PENDING)


def approve_rule(*, uow: UowFactory, clock: Clock, rule_id: str, by: str) -> RuleOut:
    return _move(uow, clock, rule_id, by, "approve", PENDING, ACTIVE)


def retire_rule(*, uow: UowFactory, clock: Clock, rule_id: str, by: str) -> RuleOut:
    return _move(uow, clock, rule_id, by, "retire", ACTIVE, RETIRED)


def list_rules(*, uow: UowFactory) -> list[RuleOut]:
    query = select(RuleRow).order_by(RuleRow.code, RuleRow.version)
    return read(uow, lambda s: [RuleOut.model_validate(r) for r in s.scalars(query)])


def active_rules(session: Session) -> list[tuple[RuleRow, Rule]]:
    rows = session.scalars(select(RuleRow).where(RuleRow.status == ACTIVE).order_by(RuleRow.code))
    return [(row, parse_rule(row.definition, carbon_port.LEVELS)) for row in rows]


def _stored(params: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}


def evaluate_customer(
    session: Session,
    clock: Clock,
    customer_id: str,
    *,
    rules: Sequence[tuple[RuleRow, Rule]] | None = None,
) -> list[GrantRow]:
    """Step: grant what the active rules give this customer today (in the caller's transaction).
    Returns only the rights granted now."""
    on = business_date(clock.now())
    snap = carbon_port.snapshot(session, clock, customer_id)
    granted = []
    for row, rule in rules if rules is not None else active_rules(session):
        grant = evaluate(rule, snap, on, carbon_port.LEVELS)
        if grant is None or session.scalar(
            select(GrantRow.id).where(GrantRow.grant_key == grant.grant_key)
        ):
            continue
        coded = grant.kind in CODED_KINDS
        new = GrantRow(
            grant_key=grant.grant_key,
            rule_id=row.id,
            rule_code=row.code,
            rule_version=row.version,
            customer_id=customer_id,
            kind=grant.kind.value,
            params=_stored(dict(grant.params)),
            coupon_code=f"GB{secrets.token_hex(7).upper()}" if coded else None,
            valid_from=grant.valid_from,
            valid_until=grant.valid_until,
            status=ISSUED,
            granted_at=clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(new)
        except IntegrityError:  # the other path (event or nightly) granted it first
            continue
        granted.append(new)
    return granted


def evaluate_for(*, uow: UowFactory, clock: Clock, customer_id: str) -> list[GrantOut]:
    """The event path: evaluate one customer now (e.g. when they open their perks)."""

    def work(session: Session) -> list[GrantOut]:
        return [_grant_out(g, clock) for g in evaluate_customer(session, clock, customer_id)]

    return command(
        uow, clock, work, actor=f"customer:{customer_id}", action="rewards.perks.evaluate"
    )


def evaluate_all(*, uow: UowFactory, clock: Clock, batch: int = 500) -> EvaluationOut:
    """The nightly run: every carbon-account customer, one transaction per batch."""
    after, customers, granted, rules = "", 0, 0, 0
    while True:

        def attempt(start: str = after) -> tuple[list[str], int, int]:
            with uow() as unit:
                active = active_rules(unit.session)
                ids = carbon_port.customer_ids(unit.session, after=start, limit=batch)
                count = sum(
                    len(evaluate_customer(unit.session, clock, c, rules=active)) for c in ids
                )
                unit.commit()
                return ids, count, len(active)

        ids, count, rules = run_with_retry(attempt)
        customers, granted = customers + len(ids), granted + count
        if len(ids) < batch:
            return EvaluationOut(customers=customers, granted=granted, rules=rules)
        after = ids[-1]


def _grant_out(row: GrantRow, clock: Clock) -> GrantOut:
    out = GrantOut.model_validate(row)
    if row.status == ISSUED and row.valid_until <= business_date(clock.now()):
        out.status = "expired"
    return out


def my_grants(*, uow: UowFactory, clock: Clock, customer_id: str) -> list[GrantOut]:
    query = select(GrantRow).where(GrantRow.customer_id == customer_id).order_by(GrantRow.id.desc())
    return read(uow, lambda s: [_grant_out(g, clock) for g in s.scalars(query)])


def export_grants(*, uow: UowFactory, kinds: Sequence[PerkKind], on: date) -> list[GrantOut]:
    """Rights valid on ``on`` for the card system: the credit-limit-upgrade eligibility list and
    the instalment / payment discount coupon codes."""
    query = (
        select(GrantRow)
        .where(
            GrantRow.kind.in_([k.value for k in kinds]),
            GrantRow.status == ISSUED,
            GrantRow.valid_from <= on,
            GrantRow.valid_until > on,
        )
        .order_by(GrantRow.customer_id, GrantRow.id)
    )
    return read(uow, lambda s: [GrantOut.model_validate(g) for g in s.scalars(query)])
