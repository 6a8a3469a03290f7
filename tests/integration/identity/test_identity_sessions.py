"""Customer sign-in, bearer tokens, refresh rotation with reuse detection, revocation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.postgres_support import drop_pooled_connections, prepared_statements, round_trips

from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.identity import otp, service, sessions
from greenbank.identity.domain import OtpPurpose
from greenbank.identity.errors import (
    AuthenticationRequired,
    OtpInvalid,
    SessionNotFound,
    SessionRevoked,
    TokenExpired,
)
from greenbank.identity.models import AuthToken
from greenbank.identity.sessions import IssuedTokens, PrincipalKind

CUSTOMER = PrincipalKind.CUSTOMER


def _sign_in(
    container: Container, otp_svc: otp.OtpService, read: Callable[[str], str], phone: str
) -> IssuedTokens:
    otp.issue(otp_svc, phone=phone, purpose=OtpPurpose.SIGN_IN)
    return service.customer_sign_in(container, phone=phone, code=read(phone), user_agent="pytest")


def _who(container: Container, token: str) -> sessions.Principal:
    return sessions.authenticate(container.uow, container.clock, token=token, kind=CUSTOMER)


def _refresh(container: Container, token: str) -> IssuedTokens:
    policy = service.token_policy(container, CUSTOMER)
    return sessions.refresh(container.uow, container.clock, policy, token=token, kind=CUSTOMER)


def test_sign_in_registers_once_and_tokens_name_the_customer(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    first = _sign_in(container, otp_svc, latest_code, "13812345678")
    assert (first.expires_in, first.refresh_expires_in) == (900, 30 * 86400)
    who = _who(container, first.access_token)
    assert (who.id, who.session_id) == (first.principal_id, first.session_id)
    clock.advance(timedelta(minutes=1))
    again = _sign_in(container, otp_svc, latest_code, "+86 138 1234 5678")
    assert again.principal_id == first.principal_id
    assert again.session_id != first.session_id
    other = _sign_in(container, otp_svc, latest_code, "13912345678")
    assert other.principal_id != first.principal_id


def test_only_token_hashes_are_stored(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    tokens = _sign_in(container, otp_svc, latest_code, "13812345678")
    with container.uow() as uow:
        stored = set(uow.session.scalars(select(AuthToken.token_hash)))
    assert len(stored) == 2
    assert tokens.access_token not in stored and tokens.refresh_token not in stored


def test_a_wrong_code_opens_no_session(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    otp.issue(otp_svc, phone="13812345678", purpose=OtpPurpose.SIGN_IN)
    code = latest_code("13812345678")
    with pytest.raises(OtpInvalid):
        service.customer_sign_in(
            container, phone="13812345678", code=f"{(int(code) + 1) % 1_000_000:06d}"
        )
    with container.uow() as uow:
        assert uow.session.scalars(select(AuthToken)).first() is None


def test_access_token_expires_after_fifteen_minutes(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    tokens = _sign_in(container, otp_svc, latest_code, "13812345678")
    clock.advance(timedelta(minutes=14, seconds=59))
    _who(container, tokens.access_token)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(TokenExpired):
        _who(container, tokens.access_token)
    fresh = _refresh(container, tokens.refresh_token)
    assert _who(container, fresh.access_token).session_id == tokens.session_id


def test_unknown_malformed_and_wrong_kind_tokens_are_unauthorized(
    container: Container,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    tokens = _sign_in(container, otp_svc, latest_code, "13812345678")
    for bad in ("nonsense", "gba_" + "A" * 43, tokens.refresh_token):
        with pytest.raises(AuthenticationRequired) as refused:
            _who(container, bad)
        assert refused.value.code == "unauthorized"
    with pytest.raises(AuthenticationRequired):
        sessions.authenticate(
            container.uow, container.clock, token=tokens.access_token, kind=PrincipalKind.STAFF
        )


def test_refresh_rotates_and_reuse_revokes_the_whole_session(
    container: Container,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    first = _sign_in(container, otp_svc, latest_code, "13812345678")
    second = _refresh(container, first.refresh_token)
    assert second.session_id == first.session_id
    assert second.refresh_token != first.refresh_token
    third = _refresh(container, second.refresh_token)
    # the thief replays the first (spent) refresh token
    with pytest.raises(SessionRevoked, match="used again"):
        _refresh(container, first.refresh_token)
    for token in (third.access_token, first.access_token):
        with pytest.raises(SessionRevoked):
            _who(container, token)
    with pytest.raises(SessionRevoked):
        _refresh(container, third.refresh_token)
    with container.uow() as uow:
        line = uow.session.scalars(
            select(AuditLine).where(AuditLine.action == "session.refresh_reuse")
        ).one()
        assert (line.subject, line.outcome) == (first.session_id, "session_revoked")


def test_refresh_token_expires_after_thirty_days(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    tokens = _sign_in(container, otp_svc, latest_code, "13812345678")
    clock.advance(timedelta(days=30))
    with pytest.raises(TokenExpired):
        _refresh(container, tokens.refresh_token)


def test_customers_list_and_revoke_only_their_own_sessions(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    phone_a, phone_b = "13812345678", "13912345678"
    a1 = _sign_in(container, otp_svc, latest_code, phone_a)
    clock.advance(timedelta(minutes=1))
    a2 = _sign_in(container, otp_svc, latest_code, phone_a)
    b1 = _sign_in(container, otp_svc, latest_code, phone_b)
    me = _who(container, a2.access_token)
    live = sessions.live_sessions(container.uow, container.clock, kind=CUSTOMER, principal_id=me.id)
    assert [s.id for s in live] == [a2.session_id, a1.session_id]
    assert live[0].user_agent == "pytest"
    with pytest.raises(SessionNotFound):
        sessions.revoke(
            container.uow,
            container.clock,
            session_id=b1.session_id,
            reason="x",
            actor="t",
            owner=me,
        )
    sessions.revoke(
        container.uow, container.clock, session_id=a1.session_id, reason="lost", actor="t", owner=me
    )
    with pytest.raises(SessionRevoked):
        _who(container, a1.access_token)
    _who(container, a2.access_token)
    _who(container, b1.access_token)
    live = sessions.live_sessions(container.uow, container.clock, kind=CUSTOMER, principal_id=me.id)
    assert [s.id for s in live] == [a2.session_id]


@pytest.mark.postgres_only
def test_authenticating_keeps_the_connections_prepared_statements(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    """Every API request authenticates: its look-up is never rolled back, because a ROLLBACK
    makes psycopg drop the pooled connection's prepared statements (ADR 0012)."""
    token = _sign_in(container, otp_svc, latest_code, "13812345678").access_token
    container.engine.dispose()  # one pooled connection from here on
    for _ in range(6):  # psycopg prepares a statement on its 5th run
        _who(container, token)
    prepared = prepared_statements(container)
    look_ups = [s for s in prepared if "auth_" in s]
    assert len(look_ups) == 1, prepared  # the token and its session: one statement
    assert "JOIN auth_sessions" in look_ups[0]


@pytest.mark.postgres_only
def test_authenticating_is_one_round_trip(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    """No ping, BEGIN or COMMIT around the look-up (ADR 0014); a unit of work has them."""
    issued = _sign_in(container, otp_svc, latest_code, "13812345678")
    container.engine.dispose()  # one pooled connection from here on
    who = _who(container, issued.access_token)  # warms the connection
    assert round_trips(container, lambda: _who(container, issued.access_token)) == 1
    assert who.id == issued.principal_id


@pytest.mark.postgres_only
def test_authenticating_on_connections_the_server_dropped_reads_again_on_a_unit_of_work(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    issued = _sign_in(container, otp_svc, latest_code, "13812345678")
    for _ in range(3):  # several idle connections in the pool
        _who(container, issued.access_token)
    drop_pooled_connections(container)
    assert _who(container, issued.access_token).session_id == issued.session_id
    assert _who(container, issued.access_token).session_id == issued.session_id
