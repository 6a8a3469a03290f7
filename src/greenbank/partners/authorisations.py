"""The OAuth2-style consent flow: a customer, signed in to greenbank, authorises a partner to
report named scenarios for them; the partner gets an opaque per-customer token.

1. The partner opens a request (scenarios, its ``state``, optionally a redirect URI it
   registered and the customer's phone SM2-encrypted to the platform key as a hint).
2. The signed-in customer approves or denies it. Approval grants the carbon consent
   (source = partner id) and issues a single-use code (10 minutes).
3. The partner exchanges the code for ``customer_token`` (``gbc_`` + 32 random bytes; only its
   SM3 hash is kept) and an ``authorisation_id``. Neither carries personal data.

Customers list and revoke their authorisations; revoking kills the token at once, ends the
carbon consents and tells the partner by webhook. The carbon consents live in the carbon
domain's own transactions: granted before the authorisation exists, revoked after it is dead,
so a token never works without its consent.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.carbon import consent
from greenbank.carbon.errors import AccountAlreadyOpen
from greenbank.crypto import sm3
from greenbank.customers.registry import find_by_phone
from greenbank.errors import ValidationFailed
from greenbank.identity.service import token_policy
from greenbank.identity.sessions import PrincipalKind, open_session
from greenbank.ids import new_id
from greenbank.partners import domain
from greenbank.partners.errors import (
    AuthorisationCodeInvalid,
    AuthorisationNotFound,
    AuthorisationRequestNotFound,
    AuthorisationRequestState,
    CustomerMismatch,
    PartnerState,
    SandboxMismatch,
)
from greenbank.partners.gateway import Caller
from greenbank.partners.models import (
    ACTIVE,
    APPROVED,
    DENIED,
    EXCHANGED,
    PENDING,
    REVOKED,
    Authorisation,
    AuthRequest,
    Partner,
    SandboxCustomer,
)
from greenbank.partners.registry import partner_row
from greenbank.partners.runtime import runtime
from greenbank.partners.webhooks import notify

REQUEST_TTL = timedelta(minutes=10)
NO_SUCH_CUSTOMER = "-"  # a phone hint that matched nobody: no customer can approve


def token_hash(token: str) -> str:
    return sm3(token.encode()).hex()


@dataclass(frozen=True)
class RequestView:
    id: str
    partner_id: str
    partner_name: str
    scenarios: list[str]
    status: str
    expires_at: datetime


@dataclass(frozen=True)
class Approval:
    code: str
    state: str
    redirect_uri: str | None


@dataclass(frozen=True)
class Grant:
    customer_token: str
    authorisation_id: str
    scenarios: list[str]


@dataclass(frozen=True)
class AuthorisationView:
    id: str
    partner_id: str
    partner_name: str
    scenarios: list[str]
    status: str
    granted_at: datetime
    revoked_at: datetime | None


def start(
    session: Session,
    container: Container,
    caller: Caller,
    *,
    scenarios: Sequence[str],
    state: str,
    redirect_uri: str | None,
    phone_encrypted: str | None,
    platform_serial: str | None,
) -> RequestView:
    """Open a consent request (in the caller's transaction)."""
    domain.check_scenarios(scenarios, caller.scenarios)
    now = container.clock.now()
    partner = partner_row(session, caller.partner_id)
    if redirect_uri is not None and redirect_uri not in partner.redirect_uris:
        raise ValidationFailed("redirect_uri is not one the partner registered")
    hint = None
    if phone_encrypted is not None:
        phone = runtime(container).keys.decrypt_field(phone_encrypted, platform_serial)
        found = find_by_phone(session, container.keyring, phone)
        hint = found.id if found is not None else NO_SUCH_CUSTOMER
    row = AuthRequest(
        partner_id=caller.partner_id,
        scenarios=sorted(set(scenarios)),
        state=state,
        redirect_uri=redirect_uri,
        hint_customer_id=hint,
        status=PENDING,
        created_at=now,
        expires_at=now + REQUEST_TTL,
    )
    session.add(row)
    session.flush()
    return _request_view(row, partner)


def _request_view(row: AuthRequest, partner: Partner) -> RequestView:
    return RequestView(
        row.id, partner.id, partner.name, list(row.scenarios), row.status, row.expires_at
    )


def _pending(session: Session, request_id: str, now: datetime) -> AuthRequest:
    row = session.scalar(select(AuthRequest).where(AuthRequest.id == request_id).with_for_update())
    if row is None:
        raise AuthorisationRequestNotFound()
    if row.status != PENDING or now >= row.expires_at:
        raise AuthorisationRequestState(
            f"the request is {row.status if row.status != PENDING else 'expired'}"
        )
    return row


def get_request(container: Container, request_id: str) -> RequestView:
    with container.uow() as uow:
        row = uow.session.get(AuthRequest, request_id)
        if row is None:
            raise AuthorisationRequestNotFound()
        return _request_view(row, partner_row(uow.session, row.partner_id))


def _is_sandbox(session: Session, customer_id: str) -> bool:
    return session.get(SandboxCustomer, customer_id) is not None


def approve(container: Container, *, customer_id: str, request_id: str) -> Approval:
    """The customer says yes: carbon consent first, then the authorisation and the code."""
    now = container.clock.now()
    with container.uow() as uow:
        row = _pending(uow.session, request_id, now)
        partner = partner_row(uow.session, row.partner_id)
        if partner.status != ACTIVE:
            raise PartnerState(f"partner {partner.id} is {partner.status}")
        if not domain.Mode(partner.sandbox).admits(_is_sandbox(uow.session, customer_id)):
            raise SandboxMismatch()
        if row.hint_customer_id is not None and row.hint_customer_id != customer_id:
            raise CustomerMismatch()
        partner_id, scenarios = partner.id, list(row.scenarios)
    consent.grant(
        container.uow,
        container.clock,
        customer_id=customer_id,
        source=partner_id,
        scenarios=scenarios,
    )
    code = secrets.token_urlsafe(24)
    with container.uow() as uow:
        session = uow.session
        row = _pending(session, request_id, now)
        replaced = _revoke_active(
            session, partner_id, customer_id, now, actor=f"customer:{customer_id}"
        )
        grant = Authorisation(
            partner_id=partner_id,
            customer_id=customer_id,
            scenarios=scenarios,
            status=ACTIVE,
            granted_at=now,
        )
        session.add(grant)
        session.flush()
        row.status, row.customer_id, row.decided_at = APPROVED, customer_id, now
        row.code_hash, row.authorisation_id = token_hash(code), grant.id
        record(
            session,
            container.clock,
            actor=f"customer:{customer_id}",
            action="partners.authorisation.grant",
            subject=grant.id,
            partner_id=partner_id,
            scenarios=scenarios,
        )
        approval = Approval(code, row.state, row.redirect_uri)
        uow.commit()
    dropped = {s for old in replaced for s in old.scenarios} - set(scenarios)
    _end_consents(container, customer_id, partner_id, dropped)
    return approval


def deny(container: Container, *, customer_id: str, request_id: str) -> RequestView:
    now = container.clock.now()
    with container.uow() as uow:
        row = _pending(uow.session, request_id, now)
        row.status, row.customer_id, row.decided_at = DENIED, customer_id, now
        view = _request_view(row, partner_row(uow.session, row.partner_id))
        uow.commit()
        return view


def exchange(container: Container, caller: Caller, *, code: str) -> Grant:
    """The single-use code for the customer token (the code is this write's idempotency key)."""
    now = container.clock.now()
    with container.uow() as uow:
        session = uow.session
        row = session.scalar(
            select(AuthRequest).where(AuthRequest.code_hash == token_hash(code)).with_for_update()
        )
        if (
            row is None
            or row.partner_id != caller.partner_id
            or row.status != APPROVED
            or now >= row.expires_at
        ):
            raise AuthorisationCodeInvalid()
        grant = session.get(Authorisation, row.authorisation_id)
        if grant is None or grant.status != ACTIVE:
            raise AuthorisationCodeInvalid("the authorisation was revoked")
        token = "gbc_" + secrets.token_urlsafe(32)
        grant.token_hash = token_hash(token)
        row.status = EXCHANGED
        result = Grant(token, grant.id, list(grant.scenarios))
        uow.commit()
        return result


def _revoke_active(
    session: Session, partner_id: str, customer_id: str, now: datetime, *, actor: str
) -> list[Authorisation]:
    rows = list(
        session.scalars(
            select(Authorisation).where(
                Authorisation.partner_id == partner_id,
                Authorisation.customer_id == customer_id,
                Authorisation.status == ACTIVE,
            )
        )
    )
    for row in rows:
        row.status, row.revoked_at, row.revoked_by = REVOKED, now, actor
    return rows


def _end_consents(
    container: Container, customer_id: str, partner_id: str, scenarios: set[str] | None
) -> None:
    """Revoke the partner's carbon consents (all, or those of ``scenarios``)."""
    if scenarios is not None and not scenarios:
        return
    for item in consent.list_consents(container.uow, customer_id=customer_id, active_only=True):
        if item.source == partner_id and (scenarios is None or item.scenario in scenarios):
            consent.revoke(
                container.uow, container.clock, customer_id=customer_id, consent_id=item.id
            )


def _view(row: Authorisation, partner: Partner) -> AuthorisationView:
    return AuthorisationView(
        row.id,
        partner.id,
        partner.name,
        list(row.scenarios),
        row.status,
        row.granted_at,
        row.revoked_at,
    )


def list_for_customer(container: Container, *, customer_id: str) -> list[AuthorisationView]:
    with container.uow() as uow:
        rows = uow.session.execute(
            select(Authorisation, Partner)
            .join(Partner, Partner.id == Authorisation.partner_id)
            .where(Authorisation.customer_id == customer_id)
            .order_by(Authorisation.granted_at.desc(), Authorisation.id)
        ).all()
        return [_view(grant, partner) for grant, partner in rows]


def revoke(container: Container, *, customer_id: str, authorisation_id: str) -> AuthorisationView:
    now = container.clock.now()
    with container.uow() as uow:
        session = uow.session
        row = session.scalar(
            select(Authorisation).where(Authorisation.id == authorisation_id).with_for_update()
        )
        if row is None or row.customer_id != customer_id:
            raise AuthorisationNotFound()
        partner = partner_row(session, row.partner_id)
        if row.status == ACTIVE:
            row.status, row.revoked_at, row.revoked_by = REVOKED, now, f"customer:{customer_id}"
            record(
                session,
                container.clock,
                actor=f"customer:{customer_id}",
                action="partners.authorisation.revoke",
                subject=row.id,
                partner_id=partner.id,
            )
            notify(
                session,
                container.clock,
                partner_id=partner.id,
                event_type="authorisation.revoked",
                payloads=[
                    {
                        "authorisation_id": row.id,
                        "revoked_at": now.isoformat(),
                        "scenarios": list(row.scenarios),
                    }
                ],
            )
        view = _view(row, partner)
        uow.commit()
    _end_consents(container, customer_id, view.partner_id, None)
    return view


def create_sandbox_customer(
    session: Session, container: Container, caller: Caller
) -> tuple[str, str]:
    """A customer that exists only for sandbox partners, with a customer access token, so a
    partner can walk the whole consent flow on its own (then ``open_sandbox_account``)."""
    if not caller.sandbox:
        raise SandboxMismatch("only sandbox partners create sandbox customers")
    customer_id = new_id()  # told apart by its partner_sandbox_customers row
    session.add(
        SandboxCustomer(
            customer_id=customer_id, partner_id=caller.partner_id, created_at=container.clock.now()
        )
    )
    issued = open_session(
        session,
        container.clock,
        token_policy(container, PrincipalKind.CUSTOMER),
        kind=PrincipalKind.CUSTOMER,
        principal_id=customer_id,
    )
    return customer_id, issued.access_token


def open_sandbox_account(container: Container, customer_id: str) -> None:
    """Open the sandbox customer's carbon account (a replayed request finds it open)."""
    with contextlib.suppress(AccountAlreadyOpen):
        consent.open_account(
            container.uow,
            container.clock,
            customer_id=customer_id,
            accept_terms=True,
            terms_version=consent.TERMS_VERSION,
        )
