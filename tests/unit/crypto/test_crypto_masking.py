"""Masking for logs and responses: the house examples, odd inputs, and what is never revealed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.crypto import mask_card, mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        ("110105491231002", "110105*****1002"),  # 15-digit legacy ID
        ("123", "***"),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("6217271234561234", "6217 27** **** 1234"),  # architecture.md
        ("6217 2712 3456 1234", "6217 27** **** 1234"),
        ("6217271234561234567", "6217 27** **** ***4 567"),  # 19 digits
        ("1234", "****"),
    ],
)
def test_mask_card(value: str, masked: str) -> None:
    assert mask_card(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("138 1234 5678", "138****5678"), ("5678", "****")],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("李", "*"), (" 王小明 ", "王**"), ("", "")],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@given(st.text(alphabet="0123456789", min_size=11, max_size=19))
def test_masked_numbers_hide_the_middle_and_keep_the_length(digits: str) -> None:
    card = mask_card(digits).replace(" ", "")
    phone = mask_phone(digits)
    assert len(card) == len(phone) == len(digits)
    assert card[:6] == digits[:6] and card[-4:] == digits[-4:] and set(card[6:-4]) == {"*"}
    assert phone[:3] == digits[:3] and phone[-4:] == digits[-4:] and set(phone[3:-4]) == {"*"}


@given(st.text(min_size=2, max_size=10).filter(lambda s: s == s.strip() and len(s) >= 2))
def test_masked_names_show_only_the_first_character(name: str) -> None:
    assert mask_name(name) == name[0] + "*" * (len(name) - 1)
