"""ID numbers (GB 11643-1999), ID validity periods, and age limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.customers.identity import (
    ID_CHECK_CHARS,
    AgeNotAllowed,
    IdExpired,
    IdNumberBirthDate,
    IdNumberChecksum,
    IdNumberMalformed,
    IdValidity,
    IdValidityMalformed,
    Sex,
    age_on,
    check_age,
    check_id_not_expired,
    id_check_char,
    parse_id_number,
    parse_id_validity,
)
from greenbank.customers.region import provinces

TODAY = date(2026, 6, 1)


def test_the_standard_sample_parses_with_a_hand_computed_check_character() -> None:
    # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167;
    # 167 mod 11 = 2 -> "10X98765432"[2] = "X"
    assert id_check_char("11010519491231002") == "X"
    parsed = parse_id_number("11010519491231002x", on=TODAY)
    assert parsed.value == "11010519491231002X"
    assert parsed.region_code == "110105"
    assert parsed.province_code == "11"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex is Sex.FEMALE  # 17th digit 2 is even


def test_an_odd_17th_digit_is_male() -> None:
    # 4*7+4*9+0+3*5+0+5*4+1*2+9*1+9*6+0+0+1*9+0+1*5+1*8+2*4+3*2 = 200; 200 mod 11 = 2 -> X
    parsed = parse_id_number("44030519900101123X", on=TODAY)
    assert parsed.sex is Sex.MALE
    assert parsed.birth_date == date(1990, 1, 1)
    assert parsed.age_on(TODAY) == 36


def test_full_width_characters_and_spaces_are_normalised() -> None:
    assert parse_id_number(" １１０１０５ 19491231 002ｘ ", on=TODAY).value == "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    ["", "11010519491231002", "110105194912310021X", "1101051949123100XX", "110105194912310O2X"],
)
def test_wrong_shapes_are_malformed(raw: str) -> None:
    with pytest.raises(IdNumberMalformed) as caught:
        parse_id_number(raw, on=TODAY)
    assert caught.value.code == "id_number_malformed"


def test_a_wrong_check_character_is_a_checksum_error() -> None:
    with pytest.raises(IdNumberChecksum) as caught:
        parse_id_number("110105194912310021", on=TODAY)
    assert caught.value.code == "id_number_checksum"


def _with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


@pytest.mark.parametrize(
    "first17",
    [
        "11010518991231002",  # 1899: before 1900
        "11010519490230002",  # 30 February
        "11010519491331002",  # month 13
        "11010520260602002",  # the day after TODAY
    ],
)
def test_impossible_birth_dates_are_refused(first17: str) -> None:
    with pytest.raises(IdNumberBirthDate) as caught:
        parse_id_number(_with_check(first17), on=TODAY)
    assert caught.value.code == "id_number_birth_date"


def test_boundary_birth_dates_are_accepted() -> None:
    assert parse_id_number(_with_check("11010519000101002"), on=TODAY).birth_date == date(
        1900, 1, 1
    )
    assert parse_id_number(_with_check("11010520260601002"), on=TODAY).birth_date == TODAY


def test_errors_do_not_echo_the_number() -> None:
    with pytest.raises(IdNumberChecksum) as caught:
        parse_id_number("110105194912310021", on=TODAY)
    assert "110105194912310021" not in str(caught.value)
    assert "110105194912310021" not in repr(caught.value.extra)


DIGITS = "0123456789"
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(provinces())))
    rest_of_region = draw(st.text(DIGITS, min_size=4, max_size=4))
    birth = draw(birth_dates)
    sequence = draw(st.text(DIGITS, min_size=3, max_size=3))
    return _with_check(f"{province}{rest_of_region}{birth:%Y%m%d}{sequence}")


@given(id_numbers())
def test_a_generated_valid_number_always_parses(value: str) -> None:
    parsed = parse_id_number(value, on=TODAY)
    assert parsed.value == value
    assert parsed.birth_date.strftime("%Y%m%d") == value[6:14]
    assert (parsed.sex is Sex.MALE) == (int(value[16]) % 2 == 1)


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.data())
def test_changing_any_single_character_breaks_the_checksum(
    value: str, position: int, data: st.DataObject
) -> None:
    alphabet = ID_CHECK_CHARS if position == 17 else DIGITS
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != value[position]]))
    changed = value[:position] + replacement + value[position + 1 :]
    with pytest.raises(IdNumberChecksum):
        parse_id_number(changed, on=TODAY)


@given(id_numbers(), st.sampled_from([" ", "\u3000", ""]), st.booleans())
def test_grouping_and_width_do_not_change_the_result(value: str, sep: str, wide: bool) -> None:
    grouped = sep.join([value[:6], value[6:14], value[14:]])
    if wide:
        grouped = grouped.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    assert parse_id_number(grouped, on=TODAY) == parse_id_number(value, on=TODAY)


# --- age -------------------------------------------------------------------------------------


def test_age_counts_completed_years() -> None:
    assert age_on(date(2010, 6, 1), date(2026, 5, 31)) == 15
    assert age_on(date(2010, 6, 1), date(2026, 6, 1)) == 16


def test_a_leap_day_birthday_turns_older_on_1_march() -> None:
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2009, 2, 28), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 3, 1), date(2024, 2, 29)) == 15


def test_check_age_enforces_the_default_minimum_of_16() -> None:
    assert check_age(date(2010, 6, 1), date(2026, 6, 1)) == 16
    with pytest.raises(AgeNotAllowed) as caught:
        check_age(date(2010, 6, 2), date(2026, 6, 1))
    assert caught.value.code == "age_not_allowed"
    assert caught.value.extra["age"] == 15


def test_check_age_honours_a_configured_range() -> None:
    assert check_age(date(1956, 6, 1), date(2026, 6, 1), max_age=70) == 70
    with pytest.raises(AgeNotAllowed):
        check_age(date(1955, 6, 1), date(2026, 6, 1), max_age=70)
    with pytest.raises(AgeNotAllowed):
        check_age(date(2008, 6, 2), date(2026, 6, 1), min_age=18)


# --- ID validity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2015.03.01-2035.03.01", IdValidity(date(2015, 3, 1), date(2035, 3, 1))),
        ("2015.03.01-长期", IdValidity(date(2015, 3, 1), None)),
        ("2015.03.01 — 2035.03.01", IdValidity(date(2015, 3, 1), date(2035, 3, 1))),
        ("2015-03-01至2035-03-01", IdValidity(date(2015, 3, 1), date(2035, 3, 1))),
        ("20150301-20350301", IdValidity(date(2015, 3, 1), date(2035, 3, 1))),
        ("２０１５.０３.０１－长期", IdValidity(date(2015, 3, 1), None)),
        ("2015年03月01日-2025年03月01日", IdValidity(date(2015, 3, 1), date(2025, 3, 1))),
    ],
)
def test_validity_periods_parse(raw: str, expected: IdValidity) -> None:
    assert parse_id_validity(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "2015.03.01",
        "2015.3.1-2035.3.1",
        "2015.02.30-2035.02.28",
        "2035.03.01-2015.03.01",
        "长期",
    ],
)
def test_malformed_validity_periods_are_refused(raw: str) -> None:
    with pytest.raises(IdValidityMalformed) as caught:
        parse_id_validity(raw)
    assert caught.value.code == "id_validity_malformed"


def test_a_card_is_valid_through_its_end_date() -> None:
    validity = parse_id_validity("2015.03.01-2035.03.01")
    check_id_not_expired(validity, date(2035, 3, 1))
    assert not validity.is_expired(date(2035, 3, 1))
    with pytest.raises(IdExpired) as caught:
        check_id_not_expired(validity, date(2035, 3, 1) + timedelta(days=1))
    assert caught.value.code == "id_expired"
    assert caught.value.extra["expired_on"] == "2035-03-01"


def test_a_long_term_card_never_expires() -> None:
    check_id_not_expired(parse_id_validity("2015.03.01-长期"), date(2999, 12, 31))
