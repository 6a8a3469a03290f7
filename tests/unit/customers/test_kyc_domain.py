"""Names, mobile numbers and the five-element authentication request."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.customers.cards import CardNumberMalformed, luhn_check_digit
from greenbank.customers.domain import (
    FiveElementRequest,
    IdType,
    IdTypeNotSupported,
    MobileMalformed,
    NameMalformed,
    name_key,
    names_match,
    parse_mobile,
    validate_name,
)
from greenbank.customers.identity import IdNumberChecksum, IdNumberMalformed
from greenbank.errors import GreenbankError

TODAY = date(2026, 6, 1)
_CARD_PAYLOAD = "621700" + "0" * 12
CARD = _CARD_PAYLOAD + luhn_check_digit(_CARD_PAYLOAD)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        (" 张 三 ", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿卜杜热合曼·阿卜杜拉", "阿卜杜热合曼·阿卜杜拉"),
        ("阿卜杜热合曼•阿卜杜拉", "阿卜杜热合曼·阿卜杜拉"),  # bullet -> middle dot
        ("买买提.艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),  # katakana middle dot
        ("𠀀明", "𠀀明"),  # a CJK extension B character
        ("Li Lei", "Li Lei"),
        ("ＬＩ　 Ｌｅｉ", "LI Lei"),  # full-width letters and ideographic space
        ("张" * 20, "张" * 20),
    ],
)
def test_valid_names(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "张",
        "张" * 21,
        "·张三",
        "张三·",
        "张··三",
        "张三1",
        "张三Li",
        "O'Brien",
        "A",
        "A" * 61,
        "王 Li",
    ],
)
def test_malformed_names(raw: str) -> None:
    with pytest.raises(NameMalformed) as caught:
        validate_name(raw)
    assert caught.value.code == "name_malformed"


def test_name_comparison_ignores_width_spaces_case_and_dot_style() -> None:
    assert names_match("张 三", "张三")
    assert names_match("ＬＩ Ｌｅｉ", "li lei")
    assert names_match("买买提•艾力", "买买提·艾力")
    assert not names_match("张三", "张山")
    assert name_key(" Li  Lei ") == "lilei"


latin_names = st.from_regex(r"[A-Za-z]{1,10}( [A-Za-z]{1,10}){0,2}", fullmatch=True)


@given(latin_names)
def test_a_full_width_spelling_matches_the_plain_one(name: str) -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in name)
    assert names_match(wide, name)
    if len(name) >= 2:
        assert validate_name(wide) == validate_name(name)


# --- mobiles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000", "008613800138000"],
)
def test_mobile_formats(raw: str) -> None:
    assert parse_mobile(raw) == "13800138000"


def test_full_width_mobile_digits_are_accepted() -> None:
    assert parse_mobile("１９９１２３４５６７８") == "19912345678"


@pytest.mark.parametrize(
    "raw", ["", "12800138000", "1380013800", "138001380000", "138****8000", "+85213800138000"]
)
def test_malformed_mobiles(raw: str) -> None:
    with pytest.raises(MobileMalformed) as caught:
        parse_mobile(raw)
    assert caught.value.code == "mobile_malformed"


# --- five elements -----------------------------------------------------------------------------

GOOD = {
    "name": "张 三",
    "id_type": "resident_id_card",
    "id_number": "11010519491231002x",
    "card_number": CARD,
    "bank_mobile": "+86 138 0013 8000",
}


def test_a_good_request_is_normalised() -> None:
    request = FiveElementRequest.build(**GOOD, on=TODAY)
    assert request.name == "张三"
    assert request.id_type is IdType.RESIDENT_ID_CARD
    assert request.id_number.value == "11010519491231002X"
    assert request.card.value == CARD
    assert request.card.luhn_valid
    assert request.bank_mobile == "13800138000"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "张", NameMalformed),
        ("id_type", "passport", IdTypeNotSupported),
        ("id_number", "110105194912310021", IdNumberChecksum),
        ("id_number", "1101051949123", IdNumberMalformed),
        ("card_number", "6217 00** **** 1234", CardNumberMalformed),
        ("bank_mobile", "02012345678", MobileMalformed),
    ],
)
def test_each_element_is_checked(field: str, value: str, error: type[GreenbankError]) -> None:
    with pytest.raises(error) as caught:
        FiveElementRequest.build(**{**GOOD, field: value}, on=TODAY)
    assert caught.value.code == error.code
    assert value not in str(caught.value)
