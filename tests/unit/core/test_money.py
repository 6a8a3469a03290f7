from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.money import (
    InvalidAmount,
    format_yuan,
    parse_yuan,
    round_fen,
    to_chinese_capitals,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0", 0), ("0.01", 1), ("10175", 1017500), ("10,175.5", 1017550), ("-3.20", -320)],
)
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["", "1.234", "1e3", "abc", "1..2", " . "])
def test_parse_yuan_refuses(text: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_yuan(text)
    assert err.value.code == "invalid_amount"


def test_format_yuan() -> None:
    assert format_yuan(1017550) == "10,175.50"
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(123456789, grouping=False) == "1234567.89"


def test_round_fen_is_half_up() -> None:
    assert round_fen(Decimal("13333.33")) == 13333
    assert round_fen(Decimal("0.5")) == 1
    assert round_fen(Decimal("2.5")) == 3
    assert round_fen(Decimal("-2.5")) == -3


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1017500, "壹万零壹佰柒拾伍元整"),
        (0, "零元整"),
        (1, "壹分"),
        (10, "壹角整"),
        (100, "壹元整"),
        (1000100, "壹万零壹元整"),
        (10000000000, "壹亿元整"),
        (10000500000, "壹亿零伍仟元整"),
        (10050000000, "壹亿零伍拾万元整"),
        (1234567, "壹万贰仟叁佰肆拾伍元陆角柒分"),
        (100005, "壹仟元零伍分"),
        (15000, "壹佰伍拾元整"),
        (20, "贰角整"),
        (110000000, "壹佰壹拾万元整"),
    ],
)
def test_chinese_capitals(fen: int, text: str) -> None:
    assert to_chinese_capitals(fen) == text


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


@given(st.integers(min_value=0, max_value=10**14))
def test_capitals_use_only_capital_characters(fen: int) -> None:
    allowed = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整")
    assert set(to_chinese_capitals(fen)) <= allowed
