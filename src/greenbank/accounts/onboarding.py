"""Opening a Class II account online: the resumable state machine and its shared plumbing.

::

    started --upload ID--> id_captured --confirm + 联网核查--> id_verified --liveness + portrait-->
    face_verified --five elements + SMS code--> card_bound --submit (risk)--> opened
                                                                          \\-> in_review -> opened
    any open state --> refused (a check said no) / cancelled (customer, or a consent revoked)

Each step is a function taking an :class:`Onboarding` (storage, clock, vendors, policy). A step
that calls a vendor reads the application in one short transaction, calls the vendor with no
transaction open, then applies the answer in a second transaction that re-checks the
application's ``version``; a vendor timeout or error changes nothing (``provider_unavailable``),
so the same request can simply be retried. Every outcome, refusals included, leaves an audit
line. The ID and face steps are in ``kyc_steps``, the card in ``card_steps``, submit and
staff review in ``review``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.accounts.errors import (
    AccountLimitReached,
    ApplicationInProgress,
    ApplicationNotFound,
    ConsentRequired,
    ConsentVersionOutdated,
    ProviderUnavailable,
    StaleApplication,
    WrongStep,
)
from greenbank.accounts.models import (
    OPEN_STATES,
    Application,
    ApplicationState,
    CheckKind,
    CheckResult,
    Consent,
    ConsentKind,
    RiskSubject,
)
from greenbank.accounts.providers import UNAVAILABLE, Providers, VendorCode
from greenbank.accounts.risk import VelocityLimits, record_velocity
from greenbank.accounts.service import NumberPolicy, count_open_accounts
from greenbank.audit.service import record
from greenbank.clock import Clock
from greenbank.crypto import KeyRing, sm3
from greenbank.customers.cards import UnknownBinPolicy
from greenbank.customers.models import Customer
from greenbank.customers.region import RegionPolicy
from greenbank.db import UowFactory, run_with_retry
from greenbank.errors import GreenbankError
from greenbank.identity.otp import OtpService

T = TypeVar("T")

NEXT_STEP: dict[ApplicationState, str | None] = {
    ApplicationState.STARTED: "upload_id",
    ApplicationState.ID_CAPTURED: "confirm_id",
    ApplicationState.ID_VERIFIED: "verify_face",
    ApplicationState.FACE_VERIFIED: "bind_card",
    ApplicationState.CARD_BOUND: "submit",
    ApplicationState.IN_REVIEW: "wait_for_review",
    ApplicationState.OPENED: None,
    ApplicationState.REFUSED: None,
    ApplicationState.CANCELLED: None,
}


@dataclass(frozen=True)
class OpeningPolicy:
    numbers: NumberPolicy
    region: RegionPolicy
    consent_versions: Mapping[ConsentKind, str]
    velocity: VelocityLimits = field(default_factory=VelocityLimits)
    min_age: int = 16
    max_age: int | None = None
    face_threshold: int = 90
    face_max_attempts: int = 3
    card_max_attempts: int = 5
    unknown_bin: UnknownBinPolicy = UnknownBinPolicy.REFUSE
    liveness_ttl: timedelta = timedelta(minutes=3)
    max_image_bytes: int = 5_000_000


@dataclass(frozen=True)
class Onboarding:
    """What the opening flow needs; ``keyring`` is called when a blind index is computed."""

    uow: UowFactory
    clock: Clock
    keyring: Callable[[], KeyRing]
    providers: Providers
    otp: OtpService
    policy: OpeningPolicy

    def index(self, value: str, kind: Any) -> str:
        return self.keyring().blind_index(value, kind=kind)


def actor_of(customer_id: str) -> str:
    return f"customer:{customer_id}"


def subject_hash(value: str | None) -> str | None:
    """SM3 of a device fingerprint or IP: counted and blacklisted, never stored as given."""
    return sm3(value.encode()).hex() if value else None


# --- plumbing shared by every step -------------------------------------------------------------


def audited(
    svc: Onboarding, *, actor: str, action: str, subject: str | None, fn: Callable[[], T]
) -> T:
    """Run a step; if it raises a domain error, leave one audit line (own transaction) with the
    error's code, so refused commands leave a trace and nothing else."""
    try:
        return fn()
    except GreenbankError as err:
        with svc.uow() as work:
            record(
                work.session,
                svc.clock,
                actor=actor,
                action=action,
                outcome=err.code,
                subject=subject,
            )
            work.commit()
        raise


def load(
    session: Session,
    application_id: str,
    *,
    customer_id: str | None,
    states: frozenset[ApplicationState] | None = None,
    version: int | None = None,
) -> Application:
    """The application (locked), owned by ``customer_id`` (None: staff), at one of ``states``,
    still at ``version`` when the caller read it before calling a vendor."""
    query = (
        select(Application)
        .where(Application.id == application_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    app = session.scalars(query).first()
    if app is None or (customer_id is not None and app.customer_id != customer_id):
        raise ApplicationNotFound(application_id=application_id)
    if states is not None and ApplicationState(app.state) not in states:
        raise WrongStep(
            f"the application is {app.state}; next step: {NEXT_STEP[ApplicationState(app.state)]}",
            state=app.state,
        )
    if version is not None and app.version != version:
        raise StaleApplication(application_id=application_id)
    return app


def read(
    svc: Onboarding, application_id: str, *, customer_id: str, states: frozenset[ApplicationState]
) -> Application:
    """Load and check in a short transaction of its own (before a vendor call)."""
    with svc.uow() as work:
        app = load(work.session, application_id, customer_id=customer_id, states=states)
        work.session.expunge(app)
        return app


def move(app: Application, to: ApplicationState, now: datetime) -> None:
    app.state = to.value
    app.updated_at = now
    app.version += 1
    if to not in OPEN_STATES:
        app.open_customer_slot = app.open_person_slot = None
        app.finished_at = now


def check(
    session: Session,
    now: datetime,
    app: Application,
    kind: CheckKind,
    provider: str,
    code: str,
    passed: bool,
    **detail: Any,
) -> None:
    session.add(
        CheckResult(
            application_id=app.id,
            kind=kind.value,
            provider=provider,
            result_code=code,
            passed=passed,
            detail=detail,
            at=now,
        )
    )


def refuse(session: Session, svc: Onboarding, app: Application, reason: str, actor: str) -> None:
    now = svc.clock.now()
    app.refusal_code = reason
    move(app, ApplicationState.REFUSED, now)
    record(
        session,
        svc.clock,
        actor=actor,
        action="accounts.application.refused",
        outcome=reason,
        subject=app.id,
    )


def raise_if_unavailable(provider: str, code: VendorCode) -> None:
    if code in UNAVAILABLE:
        raise ProviderUnavailable(provider=provider, vendor_code=code.value)


def transact(svc: Onboarding, fn: Callable[[Session], T]) -> T:
    """Run ``fn`` in one committed transaction, retried on deadlock / lock timeout."""

    def attempt() -> T:
        with svc.uow() as work:
            result = fn(work.session)
            work.commit()
            return result

    return run_with_retry(attempt)


def commit_then_raise(svc: Onboarding, fn: Callable[[Session], GreenbankError | None]) -> None:
    """Commit what ``fn`` wrote (a refusal, a counted attempt), then raise the error it returned."""
    err = transact(svc, fn)
    if err is not None:
        raise err


# --- start, read, cancel, consents -------------------------------------------------------------


def check_consents(policy: OpeningPolicy, given: Mapping[str, str]) -> None:
    for kind, version in policy.consent_versions.items():
        if kind.value not in given:
            raise ConsentRequired(missing=kind.value)
        if given[kind.value] != version:
            raise ConsentVersionOutdated(kind=kind.value, current=version)


def start(
    svc: Onboarding,
    *,
    customer_id: str,
    consents: Mapping[str, str],
    device: str | None = None,
    client_ip: str | None = None,
) -> Application:
    """Open an application with the consents given (kind -> document version)."""

    def run() -> Application:
        check_consents(svc.policy, consents)
        return transact(svc, _start)

    def _start(session: Session) -> Application:
        now = svc.clock.now()
        if session.get(Customer, customer_id) is None:
            raise ApplicationNotFound("no such customer")
        if count_open_accounts(session, customer_id) >= svc.policy.numbers.max_open_per_person:
            raise AccountLimitReached(limit=svc.policy.numbers.max_open_per_person)
        busy = select(Application.id).where(Application.open_customer_slot == customer_id)
        if session.scalar(busy) is not None:
            raise ApplicationInProgress()
        app = Application(
            customer_id=customer_id,
            state=ApplicationState.STARTED.value,
            version=1,
            open_customer_slot=customer_id,
            face_attempts=0,
            card_attempts=0,
            card_needs_review=False,
            device_id=subject_hash(device),
            client_ip=client_ip,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(app)
        except IntegrityError:
            raise ApplicationInProgress() from None
        for kind, version in svc.policy.consent_versions.items():
            session.add(
                Consent(
                    customer_id=customer_id,
                    application_id=app.id,
                    kind=kind.value,
                    version=version,
                    granted_at=now,
                )
            )
        record_velocity(
            session, application_id=app.id, subject=RiskSubject.DEVICE, key=app.device_id, at=now
        )
        record_velocity(
            session,
            application_id=app.id,
            subject=RiskSubject.IP,
            key=subject_hash(client_ip),
            at=now,
        )
        record(
            session,
            svc.clock,
            actor=actor_of(customer_id),
            action="accounts.application.started",
            subject=app.id,
            consents=dict(consents),
        )
        return app

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.application.started",
        subject=None,
        fn=run,
    )


def get(svc: Onboarding, *, customer_id: str, application_id: str) -> Application:
    with svc.uow() as work:
        app = load(work.session, application_id, customer_id=customer_id)
        work.session.expunge(app)
        return app


def current(svc: Onboarding, *, customer_id: str) -> Application | None:
    """The customer's latest application, open or not."""
    with svc.uow() as work:
        query = (
            select(Application)
            .where(Application.customer_id == customer_id)
            .order_by(Application.created_at.desc(), Application.id.desc())
            .limit(1)
        )
        app = work.session.scalars(query).first()
        if app is not None:
            work.session.expunge(app)
        return app


def cancel(svc: Onboarding, *, customer_id: str, application_id: str) -> Application:
    def _cancel(session: Session) -> Application:
        app = load(session, application_id, customer_id=customer_id, states=OPEN_STATES)
        move(app, ApplicationState.CANCELLED, svc.clock.now())
        record(
            session,
            svc.clock,
            actor=actor_of(customer_id),
            action="accounts.application.cancelled",
            subject=app.id,
        )
        return app

    return audited(
        svc,
        actor=actor_of(customer_id),
        action="accounts.application.cancelled",
        subject=application_id,
        fn=lambda: transact(svc, _cancel),
    )
