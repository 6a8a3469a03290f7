"""Consents during opening: the check a step makes and withdrawing one (个人信息保护法)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.accounts.errors import ConsentRevoked
from greenbank.accounts.models import (
    OPEN_STATES,
    Application,
    ApplicationState,
    Consent,
    ConsentKind,
)
from greenbank.accounts.onboarding import Onboarding, actor_of, audited, move, transact
from greenbank.audit.service import record


def require_consent(
    session: Session, customer_id: str, application_id: str, kind: ConsentKind
) -> None:
    query = select(Consent.id).where(
        Consent.customer_id == customer_id,
        Consent.application_id == application_id,
        Consent.kind == kind.value,
        Consent.revoked_at.is_(None),
    )
    if session.scalar(query) is None:
        raise ConsentRevoked(kind=kind.value)


def revoke_consent(svc: Onboarding, *, customer_id: str, kind: ConsentKind) -> int:
    """Withdraw a consent (个人信息保护法 Art. 15): open applications that need it are cancelled;
    withdrawing the face consent also deletes every stored face template. Returns how many
    consents were revoked."""

    def _revoke(session: Session) -> int:
        now = svc.clock.now()
        rows = list(
            session.scalars(
                select(Consent).where(
                    Consent.customer_id == customer_id,
                    Consent.kind == kind.value,
                    Consent.revoked_at.is_(None),
                )
            )
        )
        for row in rows:
            row.revoked_at = now
        apps = session.scalars(select(Application).where(Application.customer_id == customer_id))
        for app in apps:
            if ApplicationState(app.state) in OPEN_STATES:
                move(app, ApplicationState.CANCELLED, now)
            if kind is ConsentKind.SENSITIVE_FACE and app.face_template is not None:
                app.face_template = None
        record(
            session,
            svc.clock,
            actor=actor_of(customer_id),
            action="accounts.consent.revoked",
            subject=customer_id,
            kind=kind.value,
            revoked=len(rows),
        )
        return len(rows)

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.consent.revoked",
        subject=customer_id,
        fn=lambda: transact(svc, _revoke),
    )
