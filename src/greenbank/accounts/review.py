"""The end of an application: the risk decision on submit, the staff review queue, the blacklist.

Submitting calls no vendor, so the decision and its consequence (refusal, review item, or the
opened account with its ledger balance) commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.accounts.errors import BlacklistEntryExists, ReviewNotOpen, refusal
from greenbank.accounts.models import (
    Application,
    ApplicationState,
    BlacklistEntry,
    BlacklistKind,
    CheckKind,
    CheckResult,
    ReviewItem,
    ReviewStatus,
    RiskSubject,
)
from greenbank.accounts.onboarding import (
    Onboarding,
    actor_of,
    audited,
    check,
    commit_then_raise,
    load,
    move,
    refuse,
    subject_hash,
    transact,
)
from greenbank.accounts.risk import (
    Decision,
    RiskFacts,
    assess,
    blacklisted,
    velocity_count,
)
from greenbank.accounts.service import open_class2_account
from greenbank.audit.service import record
from greenbank.clock import business_date
from greenbank.crypto import mask_card, mask_id_number, mask_phone
from greenbank.customers.cards import lookup_bin
from greenbank.customers.identity import parse_id_number
from greenbank.errors import GreenbankError, ValidationFailed

CARD_BOUND = frozenset({ApplicationState.CARD_BOUND})
IN_REVIEW = frozenset({ApplicationState.IN_REVIEW})


def _facts(
    session: Session, svc: Onboarding, app: Application
) -> tuple[RiskFacts, dict[str, object]]:
    now = svc.clock.now()
    assert app.id_number and app.card_number
    id_number = parse_id_number(app.id_number, on=business_date(now))
    region = svc.policy.region.evaluate(
        id_number=id_number,
        id_address=app.address,
        mobile=app.bank_mobile,
        card_bin=lookup_bin(app.card_number),
        declared_residence=app.declared_residence,
    )
    limits = svc.policy.velocity
    ip = subject_hash(app.client_ip)
    facts = RiskFacts(
        age=id_number.age_on(business_date(now)),
        region=region,
        blacklisted=blacklisted(
            session,
            {
                BlacklistKind.ID_NUMBER: app.id_number_bidx,
                BlacklistKind.CARD: app.card_number_bidx,
                BlacklistKind.PHONE: app.bank_mobile_bidx,
                BlacklistKind.DEVICE: app.device_id,
                BlacklistKind.IP: ip,
            },
        ),
        device_count=velocity_count(
            session, subject=RiskSubject.DEVICE, key=app.device_id, since=now - limits.short_window
        ),
        ip_count=velocity_count(
            session, subject=RiskSubject.IP, key=ip, since=now - limits.short_window
        ),
        id_number_count=velocity_count(
            session,
            subject=RiskSubject.ID_NUMBER,
            key=app.id_number_bidx,
            since=now - limits.long_window,
        ),
        device_known=app.device_id is not None,
        card_needs_review=app.card_needs_review,
    )
    signals = {
        s.signal.value: {"province": s.province_code, "in_region": s.in_region}
        for s in region.signals
    }
    return facts, {"region": region.outcome.value, "signals": signals}


def submit(svc: Onboarding, *, customer_id: str, application_id: str) -> Application:
    """Decide: open the account now, queue it for a person, or refuse it."""
    actor = actor_of(customer_id)

    def apply(session: Session) -> GreenbankError | None:
        now = svc.clock.now()
        app = load(session, application_id, customer_id=customer_id, states=CARD_BOUND)
        facts, detail = _facts(session, svc, app)
        policy = svc.policy
        decision = assess(facts, policy.velocity, min_age=policy.min_age, max_age=policy.max_age)
        check(
            session,
            now,
            app,
            CheckKind.RISK,
            "greenbank",
            decision.decision.value,
            decision.decision is Decision.APPROVE,
            reasons=list(decision.reasons),
            **detail,
        )
        app.risk_reasons = list(decision.reasons)
        if decision.decision is Decision.REFUSE:
            reason = decision.refusal_code or "refused"
            refuse(session, svc, app, reason, actor)
            return refusal(reason, reasons=list(decision.reasons))
        if decision.decision is Decision.REVIEW:
            move(app, ApplicationState.IN_REVIEW, now)
            session.add(
                ReviewItem(
                    application_id=app.id,
                    status=ReviewStatus.OPEN.value,
                    reasons=list(decision.reasons),
                    created_at=now,
                )
            )
            record(
                session,
                svc.clock,
                actor=actor,
                action="accounts.application.queued",
                subject=app.id,
                reasons=list(decision.reasons),
            )
            return None
        open_class2_account(
            session, clock=svc.clock, application=app, policy=policy.numbers, actor=actor
        )
        return None

    def run() -> Application:
        commit_then_raise(svc, apply)
        with svc.uow() as work:
            app = load(work.session, application_id, customer_id=customer_id)
            work.session.expunge(app)
            return app

    return audited(
        svc, actor=actor, action="accounts.application.submitted", subject=application_id, fn=run
    )


# --- staff ---------------------------------------------------------------------------------


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


@dataclass(frozen=True)
class StaffView:
    """An application as staff see it: masked personal data, every check, the review item."""

    application: Application
    checks: list[CheckResult]
    review: ReviewItem | None


def list_applications(
    svc: Onboarding, *, state: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Application], int]:
    with svc.uow() as work:
        query = select(Application)
        counted = select(func.count()).select_from(Application)
        if state:
            query = query.where(Application.state == state)
            counted = counted.where(Application.state == state)
        rows = list(
            work.session.scalars(
                query.order_by(Application.created_at.desc(), Application.id.desc())
                .limit(limit)
                .offset(offset)
            )
        )
        total = int(work.session.scalar(counted) or 0)
        work.session.expunge_all()
        return rows, total


def staff_view(svc: Onboarding, *, application_id: str) -> StaffView:
    with svc.uow() as work:
        app = load(work.session, application_id, customer_id=None)
        checks = list(
            work.session.scalars(
                select(CheckResult)
                .where(CheckResult.application_id == app.id)
                .order_by(CheckResult.at, CheckResult.id)
            )
        )
        review = work.session.scalar(select(ReviewItem).where(ReviewItem.application_id == app.id))
        work.session.expunge_all()
        return StaffView(app, checks, review)


def decide(
    svc: Onboarding, *, application_id: str, decision: ReviewDecision, reason: str, staff: str
) -> Application:
    """A reviewer approves (the account opens now) or refuses (``refused_by_review``)."""
    actor = f"staff:{staff}"
    if not reason.strip():
        raise ValidationFailed("a review decision needs a reason")

    def apply(session: Session) -> GreenbankError | None:
        now = svc.clock.now()
        app = load(session, application_id, customer_id=None, states=IN_REVIEW)
        item = session.scalar(
            select(ReviewItem).where(ReviewItem.application_id == app.id).with_for_update()
        )
        if item is None or item.status != ReviewStatus.OPEN:
            raise ReviewNotOpen()
        item.decided_at, item.decided_by, item.decision_reason = now, staff, reason.strip()
        approve = decision is ReviewDecision.APPROVE
        item.status = (ReviewStatus.APPROVED if approve else ReviewStatus.REFUSED).value
        check(
            session,
            now,
            app,
            CheckKind.REVIEW,
            actor,
            decision.value,
            approve,
            reason=reason.strip(),
        )
        if approve:
            open_class2_account(
                session, clock=svc.clock, application=app, policy=svc.policy.numbers, actor=actor
            )
        else:
            refuse(session, svc, app, "refused_by_review", actor)
        return None

    def run() -> Application:
        commit_then_raise(svc, apply)
        return staff_view(svc, application_id=application_id).application

    return audited(
        svc, actor=actor, action="accounts.application.reviewed", subject=application_id, fn=run
    )


def add_to_blacklist(
    svc: Onboarding, *, kind: BlacklistKind, value: str, reason: str, staff: str
) -> BlacklistEntry:
    """Bar an ID number, card, phone, device fingerprint or IP from opening accounts."""
    if kind in (BlacklistKind.DEVICE, BlacklistKind.IP):
        key, label = subject_hash(value) or "", value[:4] + "…"
    else:
        index_kind = {"id_number": "id_number", "card": "card", "phone": "phone"}[kind.value]
        key = svc.index(value, index_kind)
        masker = {"id_number": mask_id_number, "card": mask_card, "phone": mask_phone}
        label = masker[index_kind](value)

    def apply(session: Session) -> BlacklistEntry:
        entry = BlacklistEntry(
            kind=kind.value,
            key=key,
            label=label,
            reason=reason,
            created_by=staff,
            created_at=svc.clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            raise BlacklistEntryExists() from None
        record(
            session,
            svc.clock,
            actor=f"staff:{staff}",
            action="accounts.blacklist.added",
            subject=entry.id,
            kind=kind.value,
            label=label,
        )
        return entry

    return audited(
        svc,
        actor=f"staff:{staff}",
        action="accounts.blacklist.added",
        subject=None,
        fn=lambda: transact(svc, apply),
    )
