"""Sessions and bearer tokens for customers and staff.

A session is one sign-in. It hands out a short-lived access token and a refresh token; using the
refresh token rotates it (the old one is spent). A spent refresh token presented again means two
parties hold the same chain — the classic sign of a stolen token — so the whole session is
revoked (OAuth 2.0 Security BCP, RFC 9700 4.14.2). Only SM3 hashes of tokens are stored.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Row, bindparam, exc, select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry, single_statement
from greenbank.identity.domain import TokenKind, new_token, token_kind
from greenbank.identity.errors import (
    AuthenticationRequired,
    SessionNotFound,
    SessionRevoked,
    TokenExpired,
)
from greenbank.identity.keys import token_hash
from greenbank.identity.models import AuthSession, AuthToken


class PrincipalKind(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True)
class TokenPolicy:
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class IssuedTokens:
    session_id: str
    principal_id: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    issued_at: datetime

    @property
    def expires_in(self) -> int:
        return int((self.access_expires_at - self.issued_at).total_seconds())

    @property
    def refresh_expires_in(self) -> int:
        return int((self.refresh_expires_at - self.issued_at).total_seconds())


@dataclass(frozen=True)
class Principal:
    """Who a valid access token speaks for."""

    kind: PrincipalKind
    id: str
    session_id: str


def _issue_pair(
    session: Session, auth: AuthSession, now: datetime, policy: TokenPolicy
) -> IssuedTokens:
    access, refresh = new_token(TokenKind.ACCESS), new_token(TokenKind.REFRESH)
    access_exp, refresh_exp = now + policy.access_ttl, now + policy.refresh_ttl
    for kind, token, expires in (
        (TokenKind.ACCESS, access, access_exp),
        (TokenKind.REFRESH, refresh, refresh_exp),
    ):
        session.add(
            AuthToken(
                session_id=auth.id,
                kind=kind.value,
                token_hash=token_hash(token),
                issued_at=now,
                expires_at=expires,
            )
        )
    auth.refreshed_at, auth.expires_at = now, refresh_exp
    return IssuedTokens(
        session_id=auth.id,
        principal_id=auth.principal_id,
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_exp,
        refresh_expires_at=refresh_exp,
        issued_at=now,
    )


def open_session(
    session: Session,
    clock: Clock,
    policy: TokenPolicy,
    *,
    kind: PrincipalKind,
    principal_id: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedTokens:
    """Start a session inside the caller's transaction (it commits with the sign-in)."""
    now = clock.now()
    auth = AuthSession(
        principal_kind=kind.value,
        principal_id=principal_id,
        created_at=now,
        refreshed_at=now,
        expires_at=now + policy.refresh_ttl,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(auth)
    session.flush()
    return _issue_pair(session, auth, now, policy)


def _check_kind(token: str, kind: TokenKind) -> None:
    if token_kind(token) is not kind:
        raise AuthenticationRequired("the bearer token is not a greenbank " + kind.value + " token")


def _lock_refresh_token(session: Session, token: str) -> AuthToken:
    _check_kind(token, TokenKind.REFRESH)
    query = select(AuthToken).where(
        AuthToken.token_hash == token_hash(token), AuthToken.kind == TokenKind.REFRESH.value
    )
    found = session.scalars(query.with_for_update()).first()
    if found is None:
        raise AuthenticationRequired("unknown token")
    return found


# Every authenticated request runs this: one statement, built once.
_ACCESS_TOKEN = (
    select(
        AuthToken.expires_at,
        AuthSession.id,
        AuthSession.principal_kind,
        AuthSession.principal_id,
        AuthSession.revoked_at,
    )
    .join(AuthSession, AuthSession.id == AuthToken.session_id)
    .where(AuthToken.token_hash == bindparam("token_hash"))
    .where(AuthToken.kind == TokenKind.ACCESS.value)
)


def authenticate(uow: UowFactory, clock: Clock, *, token: str, kind: PrincipalKind) -> Principal:
    """The principal behind an access token, or 401 (``unauthorized``, ``token_expired``,
    ``session_revoked``). Read-only: authenticating a request writes nothing."""
    _check_kind(token, TokenKind.ACCESS)
    found = _read_access_token(uow, {"token_hash": token_hash(token)})
    if found is None:
        raise AuthenticationRequired("unknown token")
    expires_at, session_id, principal_kind, principal_id, revoked_at = found
    if principal_kind != kind.value:
        raise AuthenticationRequired("this token belongs to another kind of account")
    if revoked_at is not None:
        raise SessionRevoked()
    if clock.now() >= expires_at:
        raise TokenExpired()
    return Principal(kind=kind, id=principal_id, session_id=session_id)


def _read_access_token(
    uow: UowFactory, params: dict[str, str]
) -> Row[datetime, str, str, str, datetime | None] | None:
    """The look-up as one statement of its own (ADR 0014): one round trip on PostgreSQL instead
    of the unit of work's four (ping, BEGIN, SELECT, COMMIT). A driver error there (a pooled
    connection the server dropped) reads again on a unit of work, whose connection is pinged."""
    with suppress(exc.DBAPIError), single_statement(uow().engine) as conn:
        return conn.execute(_ACCESS_TOKEN, params).first()
    with uow() as work:
        found = work.session.execute(_ACCESS_TOKEN, params).first()
        work.end_reading()
        return found


def refresh(
    uow: UowFactory, clock: Clock, policy: TokenPolicy, *, token: str, kind: PrincipalKind
) -> IssuedTokens:
    """Spend a refresh token for a new pair. Reuse of a spent one revokes the whole session."""

    def attempt() -> IssuedTokens:
        with uow() as work:
            found = _lock_refresh_token(work.session, token)
            auth = work.session.get_one(AuthSession, found.session_id, with_for_update=True)
            now = clock.now()
            if auth.principal_kind != kind.value:
                raise AuthenticationRequired("this token belongs to another kind of account")
            if auth.revoked_at is not None:
                raise SessionRevoked()
            if found.revoked_at is not None:
                _revoke(auth, now, "refresh_token_reuse")
                record(
                    work.session,
                    clock,
                    actor=f"{auth.principal_kind}:{auth.principal_id}",
                    action="session.refresh_reuse",
                    outcome="session_revoked",
                    subject=auth.id,
                )
                work.commit()
                raise SessionRevoked("a spent refresh token was used again; the session is revoked")
            if now >= found.expires_at:
                raise TokenExpired()
            found.revoked_at = now
            issued = _issue_pair(work.session, auth, now, policy)
            work.commit()
            return issued

    return run_with_retry(attempt)


def _revoke(auth: AuthSession, now: datetime, reason: str) -> None:
    if auth.revoked_at is None:
        auth.revoked_at, auth.revoked_reason = now, reason


def revoke(
    uow: UowFactory,
    clock: Clock,
    *,
    session_id: str,
    reason: str,
    actor: str,
    owner: Principal | None = None,
) -> None:
    """Revoke one session. With ``owner``, only that principal's own sessions can be revoked
    (anyone else's look absent); without, any session (staff admins). Idempotent."""
    with uow() as work:
        auth = work.session.get(AuthSession, session_id, with_for_update=True)
        if auth is None or (
            owner is not None
            and (auth.principal_kind, auth.principal_id) != (owner.kind.value, owner.id)
        ):
            raise SessionNotFound()
        _revoke(auth, clock.now(), reason)
        record(work.session, clock, actor=actor, action="session.revoke", subject=session_id)
        work.commit()


def revoke_all(
    session: Session, clock: Clock, *, kind: PrincipalKind, principal_id: str, reason: str
) -> int:
    """Revoke every live session of a principal inside the caller's transaction."""
    now = clock.now()
    live = session.scalars(
        select(AuthSession).where(
            AuthSession.principal_kind == kind.value,
            AuthSession.principal_id == principal_id,
            AuthSession.revoked_at.is_(None),
        )
    ).all()
    for auth in live:
        _revoke(auth, now, reason)
    return len(live)


def live_sessions(
    uow: UowFactory, clock: Clock, *, kind: PrincipalKind, principal_id: str
) -> list[AuthSession]:
    """The principal's sessions that are neither revoked nor past their refresh expiry."""
    with uow() as work:
        query = (
            select(AuthSession)
            .where(
                AuthSession.principal_kind == kind.value,
                AuthSession.principal_id == principal_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > clock.now(),
            )
            .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
        )
        rows = list(work.session.scalars(query))
        work.session.expunge_all()
        return rows
