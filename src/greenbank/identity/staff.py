"""Staff accounts: argon2id passwords, roles, lockout, sign-in, and the admin's actions.

Changes and sign-ins leave an audit line in the same transaction; refused sign-ins too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.identity import sessions
from greenbank.identity.domain import (
    Lockout,
    Role,
    check_password,
    normalise_username,
    parse_roles,
    seconds_until,
)
from greenbank.identity.errors import (
    AccountDisabled,
    AccountLocked,
    InvalidCredentials,
    LastAdmin,
    StaffNotFound,
    UsernameTaken,
)
from greenbank.identity.models import StaffRole, StaffUser
from greenbank.identity.sessions import IssuedTokens, PrincipalKind, TokenPolicy


class StaffStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass(frozen=True)
class StaffPolicy:
    lockout: Lockout = field(default_factory=Lockout)
    password_min_length: int = 12
    tokens: TokenPolicy = field(default_factory=TokenPolicy)
    # argon2id with argon2-cffi's defaults, RFC 9106's "low memory" profile (t=3, m=64 MiB, p=4).
    hasher: PasswordHasher = field(default_factory=PasswordHasher)


@dataclass(frozen=True)
class StaffLogin:
    staff: StaffUser
    tokens: IssuedTokens


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("greenbank: no such user")


def _verify(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _find(session: Session, username: str, *, lock: bool = False) -> StaffUser | None:
    query = select(StaffUser).where(StaffUser.username == username)
    return session.scalars(query.with_for_update() if lock else query).first()


def _get(session: Session, username: str) -> StaffUser:
    user = _find(session, normalise_username(username), lock=True)
    if user is None:
        raise StaffNotFound(f"no staff account {username!r}")
    return user


def _active_admins(session: Session) -> set[str]:
    query = (
        select(StaffUser.username)
        .join(StaffRole)
        .where(StaffRole.role == Role.ADMIN.value, StaffUser.status == StaffStatus.ACTIVE.value)
    )
    return set(session.scalars(query))


def _grant(user: StaffUser, roles: Iterable[Role], clock: Clock, actor: str) -> None:
    wanted = {role.value for role in roles}
    user.roles = [grant for grant in user.roles if grant.role in wanted]
    held = set(user.role_names)
    for role in sorted(wanted - held):
        user.roles.append(
            StaffRole(staff_id=user.id, role=role, granted_at=clock.now(), granted_by=actor)
        )


def create(
    uow: UowFactory,
    clock: Clock,
    policy: StaffPolicy,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: Iterable[str],
    actor: str,
) -> StaffUser:
    """A new active staff account. The password must pass the policy; it is stored as argon2id."""
    name = normalise_username(username)
    granted = parse_roles(roles)
    check_password(password, username=name, min_length=policy.password_min_length)
    password_hash = policy.hasher.hash(password)
    with uow() as work:
        if _find(work.session, name) is not None:
            raise UsernameTaken(f"staff account {name!r} exists")
        now = clock.now()
        user = StaffUser(
            username=name,
            display_name=display_name.strip() or name,
            password_hash=password_hash,
            status=StaffStatus.ACTIVE.value,
            failed_logins=0,
            created_at=now,
            created_by=actor,
            password_changed_at=now,
            roles=[],
        )
        work.session.add(user)
        work.session.flush()
        _grant(user, granted, clock, actor)
        record(
            work.session,
            clock,
            actor=actor,
            action="staff.create",
            subject=name,
            roles=sorted(r.value for r in granted),
        )
        try:
            work.commit()
        except IntegrityError as err:  # created concurrently under the same name
            raise UsernameTaken(f"staff account {name!r} exists") from err
        return user


def login(
    uow: UowFactory,
    clock: Clock,
    policy: StaffPolicy,
    *,
    username: str,
    password: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> StaffLogin:
    """Check the password and open a staff session. Wrong passwords count towards a lockout;
    a locked account is refused without checking the password (no guessing during a lock)."""
    name = username.strip().lower()

    def attempt() -> StaffLogin:
        with uow() as work:
            now = clock.now()
            user = _find(work.session, name, lock=True)

            def refuse(error: Exception, outcome: str) -> Exception:
                record(work.session, clock, actor=name, action="staff.login", outcome=outcome)
                work.commit()
                return error

            if user is None:
                _verify(policy.hasher, _dummy_hash(policy.hasher), password)  # same timing
                raise refuse(InvalidCredentials(), "invalid_credentials")
            if user.locked_until is not None and user.locked_until > now:
                wait = seconds_until(user.locked_until, now)
                raise refuse(AccountLocked(retry_after=wait), "account_locked")
            if not _verify(policy.hasher, user.password_hash, password):
                user.failed_logins, user.locked_until = policy.lockout.after_failure(
                    user.failed_logins, now
                )
                if user.locked_until is not None:
                    wait = seconds_until(user.locked_until, now)
                    raise refuse(AccountLocked(retry_after=wait), "account_locked")
                raise refuse(InvalidCredentials(), "invalid_credentials")
            if user.status != StaffStatus.ACTIVE:
                raise refuse(AccountDisabled(), "account_disabled")
            user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
            if policy.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = policy.hasher.hash(password)
            tokens = sessions.open_session(
                work.session,
                clock,
                policy.tokens,
                kind=PrincipalKind.STAFF,
                principal_id=user.id,
                client_ip=client_ip,
                user_agent=user_agent,
            )
            record(work.session, clock, actor=name, action="staff.login", subject=tokens.session_id)
            work.commit()
            return StaffLogin(staff=user, tokens=tokens)

    return run_with_retry(attempt)


def set_status(
    uow: UowFactory, clock: Clock, *, username: str, status: StaffStatus, actor: str
) -> StaffUser:
    """Disable (revoking every session) or re-enable an account; the last admin stays."""
    with uow() as work:
        user = _get(work.session, username)
        if status is StaffStatus.DISABLED and _active_admins(work.session) == {user.username}:
            raise LastAdmin()
        user.status = status.value
        if status is StaffStatus.DISABLED:
            sessions.revoke_all(
                work.session,
                clock,
                kind=PrincipalKind.STAFF,
                principal_id=user.id,
                reason="staff_disabled",
            )
        else:
            user.failed_logins, user.locked_until = 0, None
        record(
            work.session, clock, actor=actor, action=f"staff.{status.value}", subject=user.username
        )
        work.commit()
        return user


def set_roles(
    uow: UowFactory, clock: Clock, *, username: str, roles: Iterable[str], actor: str
) -> StaffUser:
    """Replace an account's roles (at least one); the last active admin keeps ``admin``."""
    granted = parse_roles(roles)
    with uow() as work:
        user = _get(work.session, username)
        admins = _active_admins(work.session)
        if Role.ADMIN not in granted and admins == {user.username}:
            raise LastAdmin()
        before = sorted(user.role_names)
        _grant(user, granted, clock, actor)
        record(
            work.session,
            clock,
            actor=actor,
            action="staff.roles.set",
            subject=user.username,
            before=before,
            after=sorted(r.value for r in granted),
        )
        work.commit()
        return user


def list_all(uow: UowFactory) -> list[StaffUser]:
    with uow() as work:
        users = list(work.session.scalars(select(StaffUser).order_by(StaffUser.username)))
        work.session.expunge_all()  # usable after the read-only transaction rolls back
        return users


def active_by_id(uow: UowFactory, staff_id: str) -> StaffUser | None:
    """The account behind a staff session, if it is still active."""
    with uow() as work:
        user = work.session.get(StaffUser, staff_id)
        work.session.expunge_all()
        work.end_reading()
        if user is None or user.status != StaffStatus.ACTIVE:
            return None
        return user
