"""Opening the carbon account and the customer's consents to collection.

The account is free and needs its own consent: the customer accepts the carbon account terms,
and the time and terms version are recorded. Collection then needs a consent per source (the
bank's own channels ``bank``, or a partner id) and scenario. Revoking stops collection from the
moment of revocation: the ingestion pipeline checks every event against the consent in force at
the event's time (``ConsentInterval``), so events that happened while consent was given still
count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.carbon.errors import (
    AccountAlreadyOpen,
    AccountNotOpen,
    BadSource,
    ConsentNotFound,
    TermsNotAccepted,
    UnknownScenario,
)
from greenbank.carbon.models import CarbonAccount, Consent, Scenario
from greenbank.carbon.points import level_for
from greenbank.clock import Clock
from greenbank.db import UowFactory
from greenbank.ids import new_id

TERMS_VERSION = "2026-01"  # bump when the carbon account terms change
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ConsentView:
    id: str
    source: str
    scenario: str
    terms_version: str
    granted_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _view(row: Consent) -> ConsentView:
    return ConsentView(
        row.id, row.source, row.scenario, row.terms_version, row.granted_at, row.revoked_at
    )


def account_of(session: Session, customer_id: str, *, lock: bool = False) -> CarbonAccount:
    query = select(CarbonAccount).where(CarbonAccount.customer_id == customer_id)
    account = session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise AccountNotOpen("open the carbon account first (POST /api/v1/carbon/account)")
    return account


def open_account(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    customer_id: str,
    accept_terms: bool,
    terms_version: str,
    grant_bank_scenarios: Sequence[str] = (),
) -> CarbonAccount:
    """Open the account with the customer's consent to the current terms; optionally authorise
    the bank's own channels for some scenarios in the same step."""
    if not accept_terms or terms_version != TERMS_VERSION:
        raise TermsNotAccepted(
            f"accept the carbon account terms version {TERMS_VERSION}", terms_version=TERMS_VERSION
        )
    with uow_factory() as uow:
        session = uow.session
        if session.get(CarbonAccount, customer_id) is not None:
            raise AccountAlreadyOpen()
        now = clock.now()
        account = CarbonAccount(
            customer_id=customer_id,
            public_id=new_id(),
            terms_version=terms_version,
            consented_at=now,
            lifetime_mg=0,
            carried_mg=0,
            points_earned=0,
            points_balance=0,
            level=level_for(0).level.code,
            rank_opt_in=False,
            updated_at=now,
        )
        session.add(account)
        session.flush()
        record(
            session,
            clock,
            actor=f"customer:{customer_id}",
            action="carbon.account.open",
            subject=customer_id,
            terms_version=terms_version,
        )
        if grant_bank_scenarios:
            _grant(session, clock, customer_id, "bank", grant_bank_scenarios)
        uow.commit()
        return account


def grant(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    customer_id: str,
    source: str,
    scenarios: Sequence[str],
) -> list[ConsentView]:
    """Authorise ``source`` for ``scenarios``; an already active consent is returned unchanged."""
    with uow_factory() as uow:
        views = _grant(uow.session, clock, customer_id, source, scenarios)
        uow.commit()
        return views


def _grant(
    session: Session, clock: Clock, customer_id: str, source: str, scenarios: Sequence[str]
) -> list[ConsentView]:
    if not _SOURCE_RE.fullmatch(source):
        raise BadSource(f"source {source!r} is not 'bank' or a partner id")
    account = account_of(session, customer_id, lock=True)
    known = set(session.scalars(select(Scenario.code).where(Scenario.code.in_(scenarios))))
    unknown = sorted(set(scenarios) - known)
    if unknown or not scenarios:
        raise UnknownScenario(f"unknown scenarios: {', '.join(unknown) or '(none given)'}")
    active = {
        row.scenario: row
        for row in session.scalars(
            select(Consent).where(
                Consent.customer_id == customer_id,
                Consent.source == source,
                Consent.revoked_at.is_(None),
            )
        )
    }
    now = clock.now()
    views = []
    for scenario in dict.fromkeys(scenarios):
        row = active.get(scenario)
        if row is None:
            row = Consent(
                id=new_id(),
                customer_id=customer_id,
                source=source,
                scenario=scenario,
                terms_version=account.terms_version,
                granted_at=now,
            )
            session.add(row)
            record(
                session,
                clock,
                actor=f"customer:{customer_id}",
                action="carbon.consent.grant",
                subject=row.id,
                source=source,
                scenario=scenario,
            )
        views.append(_view(row))
    return views


def revoke(
    uow_factory: UowFactory, clock: Clock, *, customer_id: str, consent_id: str
) -> ConsentView:
    """End one consent now; revoking twice keeps the first revocation time."""
    with uow_factory() as uow:
        session = uow.session
        account_of(session, customer_id, lock=True)
        row = session.get(Consent, consent_id)
        if row is None or row.customer_id != customer_id:
            raise ConsentNotFound()
        if row.revoked_at is None:
            row.revoked_at = clock.now()
            record(
                session,
                clock,
                actor=f"customer:{customer_id}",
                action="carbon.consent.revoke",
                subject=row.id,
                source=row.source,
                scenario=row.scenario,
            )
        view = _view(row)
        uow.commit()
        return view


def list_consents(
    uow_factory: UowFactory, *, customer_id: str, active_only: bool = False
) -> list[ConsentView]:
    with uow_factory() as uow:
        account_of(uow.session, customer_id)
        query = select(Consent).where(Consent.customer_id == customer_id)
        if active_only:
            query = query.where(Consent.revoked_at.is_(None))
        rows = uow.session.scalars(query.order_by(Consent.granted_at, Consent.id))
        return [_view(row) for row in rows]


def set_rank_opt_in(uow_factory: UowFactory, clock: Clock, *, customer_id: str, on: bool) -> bool:
    with uow_factory() as uow:
        account = account_of(uow.session, customer_id, lock=True)
        account.rank_opt_in = on
        account.updated_at = clock.now()
        uow.commit()
        return on
