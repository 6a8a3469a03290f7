"""Verification codes: hand-computed digits from a fixed MAC, and MAC properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.receipts.codes import ALPHABET, check_code, verification_code

KEY = b"k" * 32
FIELDS = {
    "receipt_no": "RC202405010000123",
    "amount_fen": 1_017_500,
    "on": date(2024, 5, 1),
    "payee_account": "6236680012345678901",
}


def test_digits_are_base_31_little_end_first() -> None:
    # MAC value 33 = 1 * 31 + 2: first character ALPHABET[2] = "4", then ALPHABET[1] = "3",
    # then eight zero digits ALPHABET[0] = "2".
    def fixed_mac(_key: bytes, _msg: bytes) -> bytes:
        return (33).to_bytes(16, "big") + b"\xff" * 16

    assert verification_code(KEY, mac=fixed_mac, **FIELDS) == "4322222222"


def test_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == 31
    assert not set("01OIL") & set(ALPHABET)


def test_code_is_stable_for_the_same_inputs() -> None:
    code = verification_code(KEY, **FIELDS)
    assert code == verification_code(KEY, **FIELDS)
    assert len(code) == 10
    assert set(code) <= set(ALPHABET)


@pytest.mark.parametrize(
    "change",
    [
        {"receipt_no": "RC202405010000124"},
        {"amount_fen": 1_017_501},
        {"on": date(2024, 5, 2)},
        {"payee_account": "6236680012345678902"},
    ],
)
def test_every_field_is_covered(change: dict[str, object]) -> None:
    assert verification_code(KEY, **{**FIELDS, **change}) != verification_code(KEY, **FIELDS)


def test_field_boundaries_cannot_be_shifted() -> None:
    a = verification_code(KEY, **{**FIELDS, "receipt_no": "RC1", "payee_account": "23"})
    b = verification_code(KEY, **{**FIELDS, "receipt_no": "RC12", "payee_account": "3"})
    assert a != b


def test_another_key_gives_another_code() -> None:
    assert verification_code(b"x" * 32, **FIELDS) != verification_code(KEY, **FIELDS)


def test_check_code_accepts_what_a_person_types() -> None:
    code = verification_code(KEY, **FIELDS)
    typed = f"{code[:5].lower()}-{code[5:]} "
    assert check_code(KEY, typed, **FIELDS)


def test_check_code_rejects_a_wrong_code() -> None:
    code = verification_code(KEY, **FIELDS)
    wrong = ALPHABET[(ALPHABET.index(code[0]) + 1) % len(ALPHABET)] + code[1:]
    assert not check_code(KEY, wrong, **FIELDS)
    assert not check_code(KEY, "", **FIELDS)
    assert not check_code(KEY, "验证码", **FIELDS)


@given(
    receipt_no=st.text(min_size=1, max_size=30),
    amount=st.integers(min_value=1, max_value=10**15),
    account=st.text(alphabet="0123456789", min_size=10, max_size=19),
)
def test_generated_codes_always_check(receipt_no: str, amount: int, account: str) -> None:
    fields = {"receipt_no": receipt_no, "amount_fen": amount, "on": date(2025, 1, 1)}
    code = verification_code(KEY, payee_account=account, **fields)
    assert len(code) == 10 and set(code) <= set(ALPHABET)
    assert check_code(KEY, code, payee_account=account, **fields)
