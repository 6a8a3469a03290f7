"""The partner registry: onboarding and changes under maker-checker, keys, the API secret.

A maker (``partners.manage``) proposes a partner or a change; a checker (``partners.approve``),
who must be another person, approves it. Suspension is immediate (a maker can stop traffic at
once); resuming needs the checker. Partners add and revoke their own keys over the signed API;
several keys may be active at once, which is how a partner rotates without downtime.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.clock import Clock
from greenbank.errors import ValidationFailed
from greenbank.partners import domain
from greenbank.partners.errors import (
    LastKey,
    MakerChecker,
    PartnerExists,
    PartnerKeyInvalid,
    PartnerKeyNotFound,
    PartnerNotFound,
    PartnerState,
)
from greenbank.partners.models import (
    ACTIVE,
    PENDING_APPROVAL,
    REJECTED,
    REVOKED,
    SUSPENDED,
    Partner,
    PartnerKey,
)
from greenbank.partners.signing import callback_key, load_partner_key

T = TypeVar("T")
_SCENARIO = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
CHANGEABLE = (
    "name",
    "sandbox",
    "scenarios",
    "redirect_uris",
    "ip_allow_list",
    "rate_limit_per_minute",
)


@dataclass(frozen=True)
class Profile:
    """What a maker proposes for a partner (the whole profile, or a change to it)."""

    name: str
    sandbox: bool = True
    scenarios: Sequence[str] = ()
    redirect_uris: Sequence[str] = ()
    ip_allow_list: Sequence[str] = ()
    rate_limit_per_minute: int = 600

    def checked(self) -> dict[str, Any]:
        bad = [s for s in self.scenarios if not _SCENARIO.fullmatch(s)]
        if bad or not self.scenarios:
            raise ValidationFailed(f"scenarios must be scenario codes, got {bad or 'none'}")
        if not 1 <= self.rate_limit_per_minute <= 1_000_000:
            raise ValidationFailed("rate_limit_per_minute must lie in 1..1000000")
        try:
            allow = domain.normalise_allow_list(self.ip_allow_list)
        except ValueError as err:
            raise ValidationFailed(f"ip_allow_list: {err}") from None
        for uri in self.redirect_uris:
            domain.check_webhook_url(uri, sandbox=self.sandbox)
        return {
            "name": self.name.strip()[:100],
            "sandbox": self.sandbox,
            "scenarios": sorted(set(self.scenarios)),
            "redirect_uris": list(dict.fromkeys(self.redirect_uris)),
            "ip_allow_list": allow,
            "rate_limit_per_minute": self.rate_limit_per_minute,
        }


@dataclass(frozen=True)
class KeyView:
    serial_no: str
    status: str
    created_at: datetime
    revoked_at: datetime | None
    public_key_pem: str


@dataclass(frozen=True)
class PartnerView:
    id: str
    name: str
    status: str
    sandbox: bool
    scenarios: list[str]
    redirect_uris: list[str]
    ip_allow_list: list[str]
    rate_limit_per_minute: int
    api_secret_set: bool
    pending_change: dict[str, Any] | None
    created_by: str
    approved_by: str | None
    keys: list[KeyView] = field(default_factory=list)


def _key_view(row: PartnerKey) -> KeyView:
    return KeyView(row.serial_no, row.status, row.created_at, row.revoked_at, row.public_key_pem)


def view(session: Session, row: Partner) -> PartnerView:
    keys = session.scalars(
        select(PartnerKey).where(PartnerKey.partner_id == row.id).order_by(PartnerKey.created_at)
    )
    return PartnerView(
        id=row.id,
        name=row.name,
        status=row.status,
        sandbox=row.sandbox,
        scenarios=list(row.scenarios),
        redirect_uris=list(row.redirect_uris),
        ip_allow_list=list(row.ip_allow_list),
        rate_limit_per_minute=row.rate_limit_per_minute,
        api_secret_set=row.callback_key is not None,
        pending_change=row.pending_change,
        created_by=row.created_by,
        approved_by=row.approved_by,
        keys=[_key_view(k) for k in keys],
    )


def partner_row(session: Session, partner_id: str, *, lock: bool = False) -> Partner:
    query = select(Partner).where(Partner.id == partner_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise PartnerNotFound(f"no partner {partner_id!r}")
    return row


def _add_key(session: Session, partner_id: str, pem: str, actor: str, now: datetime) -> KeyView:
    serial, _ = load_partner_key(pem)
    if session.get(PartnerKey, serial) is not None:
        raise PartnerKeyInvalid(f"key {serial} is already registered")
    row = PartnerKey(
        serial_no=serial,
        partner_id=partner_id,
        public_key_pem=pem.strip() + "\n",
        status=ACTIVE,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    return _key_view(row)


def create(
    container: Container, *, actor: str, partner_id: str, profile: Profile, public_key_pem: str
) -> PartnerView:
    """Propose a partner with its first public key; it stays inert until a checker approves."""
    if not domain.PARTNER_ID.fullmatch(partner_id) or partner_id == "bank":
        raise ValidationFailed("partner ids are 2-64 of a-z 0-9 . _ - (not 'bank')")
    values = profile.checked()
    now = container.clock.now()
    with container.uow() as uow:
        session = uow.session
        if session.get(Partner, partner_id) is not None:
            raise PartnerExists(f"partner {partner_id!r} exists")
        row = Partner(
            id=partner_id,
            status=PENDING_APPROVAL,
            created_by=actor,
            created_at=now,
            updated_at=now,
            **values,
        )
        session.add(row)
        session.flush()
        _add_key(session, partner_id, public_key_pem, actor, now)
        record(
            session,
            container.clock,
            actor=actor,
            action="partners.create",
            subject=partner_id,
            **{k: v for k, v in values.items() if k != "name"},
        )
        result = view(session, row)
        uow.commit()
        return result


def _decide(
    container: Container, *, actor: str, partner_id: str, action: str, approve: bool
) -> PartnerView:
    with container.uow() as uow:
        session = uow.session
        row = partner_row(session, partner_id, lock=True)
        now = container.clock.now()
        if action == "onboarding":
            if row.status != PENDING_APPROVAL:
                raise PartnerState(f"partner {partner_id} is {row.status}")
            if row.created_by == actor:
                raise MakerChecker()
            row.status = ACTIVE if approve else REJECTED
            row.approved_by, row.approved_at = actor, now
        else:
            if row.pending_change is None:
                raise PartnerState(f"partner {partner_id} has no pending change")
            if row.pending_change_by == actor:
                raise MakerChecker()
            if approve:
                for name, value in row.pending_change.items():
                    setattr(row, name, value)
            row.pending_change, row.pending_change_by = None, None
        row.updated_at = now
        verdict = "approve" if approve else "reject"
        record(
            session,
            container.clock,
            actor=actor,
            action=f"partners.{action}.{verdict}",
            subject=partner_id,
        )
        result = view(session, row)
        uow.commit()
        return result


def approve(
    container: Container, *, actor: str, partner_id: str, approve: bool = True
) -> PartnerView:
    return _decide(
        container, actor=actor, partner_id=partner_id, action="onboarding", approve=approve
    )


def propose_change(
    container: Container, *, actor: str, partner_id: str, profile: Profile
) -> PartnerView:
    """Stage a new profile; only the fields that differ are kept for the checker."""
    values = profile.checked()
    with container.uow() as uow:
        session = uow.session
        row = partner_row(session, partner_id, lock=True)
        if row.status not in (ACTIVE, SUSPENDED):
            raise PartnerState(f"partner {partner_id} is {row.status}")
        change = {k: v for k, v in values.items() if getattr(row, k) != v}
        if not change:
            raise ValidationFailed("the proposal changes nothing")
        row.pending_change, row.pending_change_by = change, actor
        row.updated_at = container.clock.now()
        record(
            session,
            container.clock,
            actor=actor,
            action="partners.change.propose",
            subject=partner_id,
            fields=sorted(change),
        )
        result = view(session, row)
        uow.commit()
        return result


def approve_change(
    container: Container, *, actor: str, partner_id: str, approve: bool = True
) -> PartnerView:
    return _decide(container, actor=actor, partner_id=partner_id, action="change", approve=approve)


def set_status(container: Container, *, actor: str, partner_id: str, suspend: bool) -> PartnerView:
    with container.uow() as uow:
        session = uow.session
        row = partner_row(session, partner_id, lock=True)
        wanted_from = ACTIVE if suspend else SUSPENDED
        if row.status != wanted_from:
            raise PartnerState(f"partner {partner_id} is {row.status}")
        row.status = SUSPENDED if suspend else ACTIVE
        row.updated_at = container.clock.now()
        record(
            session,
            container.clock,
            actor=actor,
            action="partners.suspend" if suspend else "partners.resume",
            subject=partner_id,
        )
        result = view(session, row)
        uow.commit()
        return result


def get(container: Container, partner_id: str) -> PartnerView:
    with container.uow() as uow:
        return view(uow.session, partner_row(uow.session, partner_id))


def list_all(container: Container) -> list[PartnerView]:
    with container.uow() as uow:
        rows = uow.session.scalars(select(Partner).order_by(Partner.id))
        return [view(uow.session, row) for row in rows]


def add_key(
    session: Session, clock: Clock, *, actor: str, partner_id: str, public_key_pem: str
) -> KeyView:
    """Register another public key (staff, or the partner itself over the signed API)."""
    partner_row(session, partner_id, lock=True)
    key = _add_key(session, partner_id, public_key_pem, actor, clock.now())
    record(
        session,
        clock,
        actor=actor,
        action="partners.key.add",
        subject=partner_id,
        serial_no=key.serial_no,
    )
    return key


def revoke_key(
    session: Session, clock: Clock, *, actor: str, partner_id: str, serial_no: str
) -> KeyView:
    """Revoke a key at once; the last active key cannot go (add its successor first)."""
    partner_row(session, partner_id, lock=True)
    row = session.get(PartnerKey, serial_no)
    if row is None or row.partner_id != partner_id:
        raise PartnerKeyNotFound(f"no key {serial_no}")
    active = session.scalars(
        select(PartnerKey.serial_no).where(
            PartnerKey.partner_id == partner_id, PartnerKey.status == ACTIVE
        )
    ).all()
    if row.status == ACTIVE and len(active) == 1:
        raise LastKey()
    if row.status == ACTIVE:
        row.status, row.revoked_at = REVOKED, clock.now()
        record(
            session,
            clock,
            actor=actor,
            action="partners.key.revoke",
            subject=partner_id,
            serial_no=serial_no,
        )
    return _key_view(row)


def set_api_secret(session: Session, clock: Clock, *, partner_id: str, api_secret: str) -> None:
    """Keep only the derived callback key (SM3 of the secret, 16 bytes), envelope-encrypted."""
    if not 32 <= len(api_secret) <= 128 or not api_secret.isascii():
        raise ValidationFailed("the API secret is 32-128 ASCII characters")
    row = partner_row(session, partner_id, lock=True)
    row.callback_key = base64.b64encode(callback_key(api_secret)).decode()
    row.updated_at = clock.now()
    record(
        session,
        clock,
        actor=f"partner:{partner_id}",
        action="partners.api_secret.set",
        subject=partner_id,
    )


def callback_key_of(session: Session, partner_id: str) -> bytes | None:
    row = partner_row(session, partner_id)
    return None if row.callback_key is None else base64.b64decode(row.callback_key)


def in_own_transaction(container: Container, action: Callable[[Session, Clock], T]) -> T:
    """Run a session-level registry action (``add_key``, ``revoke_key``) in its own transaction,
    for callers that have none (the staff console, the CLI)."""
    with container.uow() as uow:
        result = action(uow.session, container.clock)
        uow.commit()
        return result
