"""Pure identity rules: the permission table, one-time-code rules, passwords, tokens, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.identity import domain
from greenbank.identity.domain import (
    ALL_PERMISSIONS,
    PERMISSIONS,
    Lockout,
    OtpPolicy,
    OtpStatus,
    Role,
    TokenKind,
    check_password,
    generate_code,
    judge_attempt,
    new_token,
    normalise_mobile,
    normalise_username,
    parse_roles,
    permissions_for,
    seconds_until,
    token_kind,
)
from greenbank.identity.errors import InvalidUsername, MobileMalformed, UnknownRole, WeakPassword
from greenbank.identity.keys import code_mac, token_hash

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
POLICY = OtpPolicy()


# --- permissions --------------------------------------------------------------------------------


def test_every_role_has_a_row_and_the_table_is_the_documented_one() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert permissions_for([Role.ADMIN]) == {"staff.manage", "reports.read"}
    assert permissions_for([Role.AUDITOR]) == {
        "audit.read",
        "customers.read",
        "receipts.stats.read",
        "reports.read",
    }
    assert "applications.review" in permissions_for(["reviewer"])
    assert "deposits.products.manage" in permissions_for(["product_manager"])
    assert len(ALL_PERMISSIONS) == 13


def test_maker_and_checker_are_different_roles() -> None:
    """Whoever manages methodologies and partners cannot approve them, and the other way round."""
    for manage, approve in (
        ("carbon.methodologies.manage", "carbon.methodologies.approve"),
        ("partners.manage", "partners.approve"),
    ):
        for role in Role:
            assert not {manage, approve} <= PERMISSIONS[role], role


def test_admin_cannot_read_the_audit_trail_it_is_audited_by() -> None:
    assert "audit.read" not in permissions_for(["admin"])


def test_roles_combine_and_unknown_names_grant_nothing() -> None:
    both = permissions_for(["operator", "auditor"])
    assert both == PERMISSIONS[Role.OPERATOR] | PERMISSIONS[Role.AUDITOR]
    assert permissions_for(["superuser"]) == frozenset()
    assert permissions_for([]) == frozenset()


def test_parse_roles_refuses_unknown_and_empty() -> None:
    assert parse_roles(["admin", "auditor", "admin"]) == {Role.ADMIN, Role.AUDITOR}
    with pytest.raises(UnknownRole):
        parse_roles(["root"])
    with pytest.raises(UnknownRole):
        parse_roles([])


# --- one-time codes -----------------------------------------------------------------------------


def test_codes_keep_leading_zeros_and_length() -> None:
    assert generate_code(6, randbelow=lambda n: 42) == "000042"
    assert generate_code(4, randbelow=lambda n: n - 1) == "9999"
    assert len(generate_code(6)) == 6


def test_right_code_in_time_is_verified() -> None:
    judged = judge_attempt(
        matches=True, attempts=2, expires_at=NOW + timedelta(seconds=1), now=NOW, policy=POLICY
    )
    assert judged.ok and judged.status is OtpStatus.VERIFIED and judged.attempts == 3


def test_expiry_wins_over_a_right_code_and_does_not_count_an_attempt() -> None:
    judged = judge_attempt(matches=True, attempts=1, expires_at=NOW, now=NOW, policy=POLICY)
    assert not judged.ok and judged.status is OtpStatus.EXPIRED and judged.attempts == 1


def test_the_fifth_wrong_code_burns_the_challenge() -> None:
    attempts, statuses = 0, []
    for _ in range(5):
        judged = judge_attempt(
            matches=False,
            attempts=attempts,
            expires_at=NOW + timedelta(minutes=5),
            now=NOW,
            policy=POLICY,
        )
        attempts = judged.attempts
        statuses.append(judged.status)
    assert statuses == [OtpStatus.PENDING] * 4 + [OtpStatus.BURNT]
    assert attempts == 5


@given(st.integers(min_value=0, max_value=3600 * 24), st.integers(min_value=0, max_value=999_999))
def test_seconds_until_rounds_up_and_is_at_least_one(seconds: int, micros: int) -> None:
    wait = seconds_until(NOW + timedelta(seconds=seconds, microseconds=micros), NOW)
    assert wait >= 1
    assert wait >= seconds + (1 if micros else 0)
    assert wait <= seconds + 1


def test_mobiles_normalise_and_malformed_ones_are_refused() -> None:
    assert normalise_mobile("+86 138-1234-5678") == "13812345678"
    assert normalise_mobile("008613812345678") == "13812345678"
    for bad in ("12812345678", "1381234567", "138123456789", "abc"):
        with pytest.raises(MobileMalformed):
            normalise_mobile(bad)


def test_code_macs_bind_the_challenge() -> None:
    key = b"k" * 32
    assert code_mac(key, "a", "123456") == code_mac(key, "a", "123456")
    assert code_mac(key, "a", "123456") != code_mac(key, "b", "123456")
    assert code_mac(key, "a", "123456") != code_mac(b"j" * 32, "a", "123456")
    assert len(code_mac(key, "a", "123456")) == 64


# --- tokens -------------------------------------------------------------------------------------


def test_tokens_carry_their_kind_and_256_random_bits() -> None:
    access, refresh = new_token(TokenKind.ACCESS), new_token(TokenKind.REFRESH)
    assert access.startswith("gba_") and refresh.startswith("gbr_")
    assert len(access) == 4 + 43
    assert token_kind(access) is TokenKind.ACCESS
    assert token_kind(refresh) is TokenKind.REFRESH
    assert token_kind("gba_short") is None
    assert token_kind("Bearer " + access) is None
    assert new_token(TokenKind.ACCESS) != access


def test_token_hash_is_sm3_hex() -> None:
    # GB/T 32905-2016 example 1: SM3("abc")
    assert token_hash("abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    token = new_token(TokenKind.ACCESS)
    assert token_hash(token) != token_hash(token[:-1] + ("A" if token[-1] != "A" else "B"))


# --- staff --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pass", "at least 12"),
        ("x" * 129, "at most 128"),
        ("Password1234", "too common"),
        ("my name is li.ming ok", "username"),
        ("aaaaaaaaaaaaaaa", "repeated"),
    ],
)
def test_password_policy_refusals(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_password(password, username="li.ming", min_length=12)


def test_password_policy_accepts_a_long_passphrase() -> None:
    check_password("correct horse battery staple", username="li.ming", min_length=12)
    check_password("十二个汉字的密码也可以用的吧", username="li.ming", min_length=12)


def test_usernames_are_lower_case_and_plain() -> None:
    assert normalise_username("  Li.Ming ") == "li.ming"
    for bad in ("ab", "1abc", "li ming", "李明", "a" * 65):
        with pytest.raises(InvalidUsername):
            normalise_username(bad)


def test_lockout_after_threshold_then_count_restarts() -> None:
    lockout = Lockout(threshold=3, duration=timedelta(minutes=15))
    assert lockout.after_failure(0, NOW) == (1, None)
    assert lockout.after_failure(1, NOW) == (2, None)
    assert lockout.after_failure(2, NOW) == (0, NOW + timedelta(minutes=15))


def test_the_readme_table_is_the_code_table() -> None:
    readme = (Path(domain.__file__).parent / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `") and "✓" in line]
    documented: dict[Role, set[str]] = {role: set() for role in Role}
    columns = [Role.OPERATOR, Role.REVIEWER, Role.PRODUCT_MANAGER, Role.AUDITOR, Role.ADMIN]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        for role, cell in zip(columns, cells[1:], strict=True):
            if cell == "✓":
                documented[role].add(cells[0].strip("`"))
    assert documented == {role: set(PERMISSIONS[role]) for role in Role}
