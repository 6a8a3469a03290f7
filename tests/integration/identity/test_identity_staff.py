"""Staff accounts: argon2id, sign-in, lockout, disabling, roles, the last-admin guard, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.identity import sessions, staff
from greenbank.identity.errors import (
    AccountDisabled,
    AccountLocked,
    InvalidCredentials,
    LastAdmin,
    SessionRevoked,
    StaffNotFound,
    UsernameTaken,
    WeakPassword,
)
from greenbank.identity.models import StaffUser
from greenbank.identity.sessions import PrincipalKind
from greenbank.identity.staff import StaffPolicy, StaffStatus

PASSWORD = "correct horse battery staple"


def _create(container: Container, policy: StaffPolicy, username: str, *roles: str) -> StaffUser:
    return staff.create(
        container.uow,
        container.clock,
        policy,
        username=username,
        display_name=username.title(),
        password=PASSWORD,
        roles=roles or ("operator",),
        actor="cli:test",
    )


def _login(
    container: Container, policy: StaffPolicy, username: str, password: str
) -> staff.StaffLogin:
    return staff.login(container.uow, container.clock, policy, username=username, password=password)


def _outcomes(container: Container, action: str) -> list[str]:
    with container.uow() as uow:
        query = select(AuditLine.outcome).where(AuditLine.action == action)
        return list(uow.session.scalars(query.order_by(AuditLine.at, AuditLine.id)))


def test_passwords_are_argon2id_and_verify(container: Container, staff_policy: StaffPolicy) -> None:
    user = _create(container, staff_policy, "Li.Ming", "admin", "auditor")
    assert user.username == "li.ming"
    assert user.role_names == ["admin", "auditor"]
    with container.uow() as uow:
        stored = uow.session.scalar(select(StaffUser.password_hash))
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    login = _login(container, staff_policy, "LI.MING", PASSWORD)
    assert login.staff.id == user.id
    who = sessions.authenticate(
        container.uow, container.clock, token=login.tokens.access_token, kind=PrincipalKind.STAFF
    )
    assert who.id == user.id
    assert login.tokens.refresh_expires_in == 12 * 3600
    assert _outcomes(container, "staff.create") == ["ok"]
    assert _outcomes(container, "staff.login") == ["ok"]


def test_the_library_default_hasher_is_argon2id(container: Container) -> None:
    from greenbank.identity.service import staff_policy

    assert staff_policy(container).hasher.hash(PASSWORD).startswith("$argon2id$v=19$m=65536")


def test_create_refuses_weak_passwords_taken_names_and_unknown_roles(
    container: Container, staff_policy: StaffPolicy
) -> None:
    _create(container, staff_policy, "li.ming")
    with pytest.raises(UsernameTaken):
        _create(container, staff_policy, "LI.MING")
    with pytest.raises(WeakPassword):
        staff.create(
            container.uow,
            container.clock,
            staff_policy,
            username="wang.fang",
            display_name="",
            password="too short",
            roles=["operator"],
            actor="t",
        )
    assert [u.username for u in staff.list_all(container.uow)] == ["li.ming"]


def test_five_wrong_passwords_lock_for_fifteen_minutes(
    container: Container, clock: FixedClock, staff_policy: StaffPolicy
) -> None:
    _create(container, staff_policy, "li.ming")
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            _login(container, staff_policy, "li.ming", "wrong password!")
        clock.advance(timedelta(seconds=1))  # keeps the audit lines in order
    with pytest.raises(AccountLocked) as locked:
        _login(container, staff_policy, "li.ming", "wrong password!")
    assert locked.value.headers["Retry-After"] == "900"
    clock.advance(timedelta(minutes=14))
    with pytest.raises(AccountLocked):  # even the right password waits out the lock
        _login(container, staff_policy, "li.ming", PASSWORD)
    clock.advance(timedelta(minutes=1))
    _login(container, staff_policy, "li.ming", PASSWORD)
    with container.uow() as uow:
        user = uow.session.scalars(select(StaffUser)).one()
        assert (user.failed_logins, user.locked_until) == (0, None)
    assert _outcomes(container, "staff.login") == ["invalid_credentials"] * 4 + [
        "account_locked",
        "account_locked",
        "ok",
    ]


def test_unknown_users_get_the_same_answer(container: Container, staff_policy: StaffPolicy) -> None:
    with pytest.raises(InvalidCredentials):
        _login(container, staff_policy, "nobody", PASSWORD)
    assert _outcomes(container, "staff.login") == ["invalid_credentials"]


def test_disabled_staff_are_refused_and_lose_their_sessions(
    container: Container, staff_policy: StaffPolicy
) -> None:
    _create(container, staff_policy, "root", "admin")
    _create(container, staff_policy, "li.ming")
    login = _login(container, staff_policy, "li.ming", PASSWORD)
    staff.set_status(
        container.uow,
        container.clock,
        username="li.ming",
        status=StaffStatus.DISABLED,
        actor="root",
    )
    with pytest.raises(SessionRevoked):
        sessions.authenticate(
            container.uow,
            container.clock,
            token=login.tokens.access_token,
            kind=PrincipalKind.STAFF,
        )
    with pytest.raises(AccountDisabled):
        _login(container, staff_policy, "li.ming", PASSWORD)
    with pytest.raises(InvalidCredentials):  # a wrong password does not reveal the status
        _login(container, staff_policy, "li.ming", "wrong password!")
    assert staff.active_by_id(container.uow, login.staff.id) is None
    staff.set_status(
        container.uow, container.clock, username="li.ming", status=StaffStatus.ACTIVE, actor="root"
    )
    _login(container, staff_policy, "li.ming", PASSWORD)


def test_roles_are_replaced_and_the_last_admin_is_kept(
    container: Container, staff_policy: StaffPolicy
) -> None:
    _create(container, staff_policy, "root", "admin")
    with pytest.raises(LastAdmin):
        staff.set_roles(
            container.uow, container.clock, username="root", roles=["auditor"], actor="t"
        )
    with pytest.raises(LastAdmin):
        staff.set_status(
            container.uow, container.clock, username="root", status=StaffStatus.DISABLED, actor="t"
        )
    _create(container, staff_policy, "li.ming", "operator")
    user = staff.set_roles(
        container.uow,
        container.clock,
        username="li.ming",
        roles=["admin", "reviewer"],
        actor="root",
    )
    assert user.role_names == ["admin", "reviewer"]
    user = staff.set_roles(
        container.uow, container.clock, username="root", roles=["auditor"], actor="li.ming"
    )
    assert user.role_names == ["auditor"]
    with pytest.raises(StaffNotFound):
        staff.set_roles(
            container.uow, container.clock, username="ghost", roles=["admin"], actor="t"
        )
    with container.uow() as uow:
        line = uow.session.scalars(
            select(AuditLine).where(AuditLine.action == "staff.roles.set").order_by(AuditLine.id)
        ).first()
        assert line is not None
        assert line.detail == {"before": ["operator"], "after": ["admin", "reviewer"]}
