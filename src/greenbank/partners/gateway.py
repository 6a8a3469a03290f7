"""Who is calling the open API, may they, and has this request been answered before?

``authenticate`` runs for every partner request, in this order (cheap refusals first, and the
nonce is spent only by a request whose signature verified, so nobody can burn a partner's nonces):
header shape -> timestamp window -> partner and key (a read without the write lock) -> IP
allow-list -> SM2 signature -> rate limit and nonce (one short write transaction).

``idempotent`` wraps a write: the first answer to (partner, Idempotency-Key) is stored in the
same transaction as the change and replayed to retries; the same key with another body is a 409.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.crypto import sm3
from greenbank.db import commit_reading, run_with_retry
from greenbank.logs import current_request_id
from greenbank.partners import domain
from greenbank.partners.errors import (
    IdempotencyKeyReused,
    NonceReplayed,
    PartnerUnknown,
    SerialUnknown,
    SignatureMissing,
)
from greenbank.partners.models import ACTIVE, IdempotentAnswer, Nonce, Partner, PartnerKey
from greenbank.partners.models import RequestLog as RequestLogRow
from greenbank.partners.signing import verify_request

PURGE_ONE_IN = 1000  # requests; expired nonces are also purged by `greenbank partners purge-nonces`
Work = Callable[[Session], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Caller:
    """An authenticated partner request."""

    partner_id: str
    sandbox: bool
    scenarios: tuple[str, ...]
    serial_no: str


@contextmanager
def reader(container: Container) -> Iterator[Session]:
    """A session for look-ups that takes no write lock on SQLite. A block that completes ends
    with ``commit_reading`` (COMMIT keeps psycopg's prepared statements; ADR 0012), which
    refuses a change; an error rolls back."""
    deferred = container.engine.execution_options(sqlite_begin="DEFERRED")
    with container.session_factory(bind=deferred) as session:
        yield session
        commit_reading(session)


def authenticate(
    container: Container,
    *,
    header: str | None,
    method: str,
    path: str,
    body: bytes,
    client_ip: str | None,
) -> Caller:
    if not header:
        raise SignatureMissing()
    auth = domain.read_authorization(header)
    now = container.clock.now()
    signed_at = domain.check_timestamp(auth.timestamp, now)
    with reader(container) as session:
        partner = session.get(Partner, auth.partner_id)
        key = session.get(PartnerKey, auth.serial_no)
        if partner is None or partner.status != ACTIVE:
            raise PartnerUnknown(f"no active partner {auth.partner_id!r}")
        if key is None or key.partner_id != partner.id or key.status != ACTIVE:
            raise SerialUnknown(f"no active key {auth.serial_no} for {partner.id}")
        caller = Caller(partner.id, partner.sandbox, tuple(partner.scenarios), key.serial_no)
        allow_list, limit, pem = (
            partner.ip_allow_list,
            partner.rate_limit_per_minute,
            key.public_key_pem,
        )
    domain.check_ip(allow_list, client_ip)
    verify_request(
        auth.serial_no, pem, auth.signature, domain.signed_message(method, path, auth, body)
    )
    _spend_nonce(container, caller.partner_id, auth.nonce_str, limit, now, signed_at)
    return caller


def _spend_nonce(
    container: Container,
    partner_id: str,
    nonce: str,
    limit: int,
    now: datetime,
    signed_at: datetime,
) -> None:
    def work() -> None:
        with container.uow() as uow:
            session = uow.session
            recent = session.scalar(
                select(func.count())
                .select_from(Nonce)
                .where(Nonce.partner_id == partner_id, Nonce.seen_at > now - domain.RATE_WINDOW)
            )
            domain.check_rate(int(recent or 0), limit)
            if session.get(Nonce, (partner_id, nonce)) is not None:
                raise NonceReplayed()
            if secrets.randbelow(PURGE_ONE_IN) == 0:  # upkeep without a cron job
                session.execute(delete(Nonce).where(Nonce.expires_at < now))
            session.add(
                Nonce(
                    partner_id=partner_id,
                    nonce=nonce,
                    seen_at=now,
                    expires_at=domain.nonce_expiry(signed_at),
                )
            )
            uow.commit()

    try:
        run_with_retry(work)
    except IntegrityError:  # the same nonce raced in on another connection
        raise NonceReplayed() from None


def purge_nonces(container: Container) -> int:
    """Forget nonces whose timestamps can no longer pass the window (run it now and then)."""
    with container.uow() as uow:
        result = uow.session.execute(delete(Nonce).where(Nonce.expires_at < container.clock.now()))
        uow.commit()
        return int(getattr(result, "rowcount", 0) or 0)


def request_hash(method: str, path: str, body: bytes) -> str:
    return sm3(f"{method}\n{path}\n".encode() + body).hex()


def idempotent(
    container: Container, caller: Caller, *, key: str, fingerprint: str, work: Work
) -> tuple[int, dict[str, Any]]:
    """Run ``work(session)`` once per (partner, key); later calls get the stored answer."""
    key = domain.check_idempotency_key(key)

    def stored(session: Session) -> tuple[int, dict[str, Any]] | None:
        row = session.get(IdempotentAnswer, (caller.partner_id, key))
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used for another request")
        return row.status_code, row.response

    def attempt() -> tuple[int, dict[str, Any]]:
        with container.uow() as uow:
            earlier = stored(uow.session)
            if earlier is not None:
                return earlier
            status, answer = work(uow.session)
            uow.session.add(
                IdempotentAnswer(
                    partner_id=caller.partner_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=status,
                    response=answer,
                    created_at=container.clock.now(),
                )
            )
            uow.commit()
            return status, answer

    try:
        return run_with_retry(attempt)
    except IntegrityError:  # a concurrent request (same key, or same event) committed first
        with container.uow() as uow:
            earlier = stored(uow.session)
        if earlier is not None:
            return earlier
        return run_with_retry(attempt)  # it was another row (a carbon event): now it is seen


def log_refusal(
    container: Container,
    *,
    partner_id: str | None,
    method: str,
    path: str,
    status: int,
    code: str,
    detail: str,
    client_ip: str | None,
) -> None:
    """One line per refused request, in its own transaction (the request's own rolled back)."""

    def work() -> None:
        with container.uow() as uow:
            uow.session.add(
                RequestLogRow(
                    at=container.clock.now(),
                    partner_id=(partner_id or None) and partner_id[:64],
                    method=method[:10],
                    path=path[:300],
                    status=status,
                    code=code[:60],
                    detail=detail[:300],
                    client_ip=client_ip,
                    request_id=current_request_id(),
                )
            )
            uow.commit()

    run_with_retry(work)


def refusals(container: Container, partner_id: str, *, limit: int = 100) -> list[RequestLogRow]:
    with reader(container) as session:
        query = (
            select(RequestLogRow)
            .where(RequestLogRow.partner_id == partner_id)
            .order_by(RequestLogRow.at.desc(), RequestLogRow.id.desc())
            .limit(limit)
        )
        return list(session.scalars(query))
