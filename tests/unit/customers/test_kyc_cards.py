"""Card numbers, Luhn, the BIN table, the debit-only rule, and Class II account numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.customers.account_numbers import (
    AccountNumberConfigInvalid,
    AccountSequenceOutOfRange,
    is_valid_account_number,
    make_account_number,
    sequence_capacity,
)
from greenbank.customers.cards import (
    BinTable,
    CardBinUnknown,
    CardNumberMalformed,
    CardType,
    CreditCardNotAllowed,
    UnknownBinPolicy,
    default_bin_table,
    lookup_bin,
    luhn_check_digit,
    luhn_is_valid,
    parse_card_number,
    require_debit,
)
from greenbank.customers.region import provinces

DIGITS = "0123456789"


def _card(prefix: str, length: int = 19) -> str:
    payload = prefix + "1" * (length - len(prefix) - 1)
    return payload + luhn_check_digit(payload)


# --- Luhn --------------------------------------------------------------------------------------


def test_luhn_worked_examples() -> None:
    # 7992739871: from the right, doubled 1,8,3,2,9 -> 2,7,6,4,9 (16 -> 7, 18 -> 9);
    # sum 2+7+7+9+6+7+4+9+9+7 = 67; check digit (10 - 7) = 3
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_is_valid("79927398713")
    assert not luhn_is_valid("79927398710")
    assert luhn_is_valid("4111111111111111")
    assert not luhn_is_valid("")
    assert not luhn_is_valid("0")


@given(st.text(DIGITS, min_size=1, max_size=30))
def test_the_check_digit_always_validates(payload: str) -> None:
    assert luhn_is_valid(payload + luhn_check_digit(payload))


# --- card numbers --------------------------------------------------------------------------------


def test_a_card_number_is_16_to_19_digits_and_luhn_is_only_a_flag() -> None:
    good = _card("622202")
    assert parse_card_number(good).luhn_valid
    bad_luhn = good[:-1] + str((int(good[-1]) + 1) % 10)
    parsed = parse_card_number(bad_luhn)
    assert parsed.value == bad_luhn
    assert not parsed.luhn_valid
    assert parse_card_number(_card("622588", 16)).value.startswith("622588")


@pytest.mark.parametrize(
    "raw",
    ["", "622202123456789", "62220212345678901234", "6222 02** **** 1234", "6222O21234567890"],
)
def test_malformed_card_numbers(raw: str) -> None:
    with pytest.raises(CardNumberMalformed) as caught:
        parse_card_number(raw)
    assert caught.value.code == "card_number_malformed"


@given(st.text(DIGITS, min_size=16, max_size=19), st.sampled_from([" ", "-", ""]), st.booleans())
def test_grouping_and_width_do_not_change_the_card(number: str, sep: str, wide: bool) -> None:
    grouped = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    if wide:
        grouped = grouped.translate({ord(c): ord(c) + 0xFEE0 for c in DIGITS})
    assert parse_card_number(grouped) == parse_card_number(number)


@given(st.text(DIGITS, min_size=16, max_size=19), st.data())
def test_a_masked_number_is_refused_and_not_echoed(number: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(number) - 1))
    end = data.draw(st.integers(start + 1, len(number)))
    masked = number[:start] + "*" * (end - start) + number[end:]
    with pytest.raises(CardNumberMalformed) as caught:
        parse_card_number(masked)
    assert masked not in str(caught.value)
    assert masked not in repr(caught.value.extra)


# --- BIN table ------------------------------------------------------------------------------------


def test_the_shipped_table_is_consistent() -> None:
    table = default_bin_table()
    assert len(table) >= 50
    known = provinces()
    for prefix in ("622202", "621700", "622848", "621661", "622588", "621727"):
        entry = table.lookup(prefix + "0" * 13)
        assert entry is not None
        assert entry.card_type is CardType.DEBIT
        assert entry.province_code is None or entry.province_code in known


@pytest.mark.parametrize(
    ("prefix", "bank", "card_type", "province"),
    [
        ("622202", "ICBC", CardType.DEBIT, None),
        ("621700", "CCB", CardType.DEBIT, None),
        ("622848", "ABC", CardType.DEBIT, None),
        ("621661", "BOC", CardType.DEBIT, None),
        ("622588", "CMB", CardType.DEBIT, None),
        ("622575", "CMB", CardType.CREDIT, None),
        ("625362", "CCB", CardType.CREDIT, None),
        ("622820", "ABC", CardType.CREDIT, None),  # 准贷记卡 counts as credit
        ("621727", "NYBANK", CardType.DEBIT, "44"),
        ("622439", "GRCB", CardType.DEBIT, "44"),
        ("95599", "ABC", CardType.DEBIT, None),  # five-digit BIN
    ],
)
def test_lookup_bin_examples(
    prefix: str, bank: str, card_type: CardType, province: str | None
) -> None:
    entry = lookup_bin(_card(prefix))
    assert entry is not None
    assert (entry.bank_code, entry.card_type, entry.province_code) == (bank, card_type, province)


def test_unknown_bins_return_none() -> None:
    assert lookup_bin(_card("999999")) is None


def test_the_longest_prefix_wins(tmp_path: Path) -> None:
    csv_text = (
        "# a comment line\n"
        "bin,bank_code,bank_name,card_type,card_name,province_code\n"
        "62220,AAA,甲银行,debit,借记卡,\n"
        "6222021,BBB,乙银行,credit,信用卡,44\n"
    )
    path = tmp_path / "bins.csv"
    path.write_text(csv_text, encoding="utf-8")
    table = BinTable.from_csv(path)
    assert len(table) == 2
    banks = [lookup_bin(_card(p), table=table) for p in ("6222021", "6222020", "6222100")]
    assert [b.bank_code if b else None for b in banks] == ["BBB", "AAA", None]


def test_a_table_with_a_duplicate_bin_is_refused() -> None:
    header = "bin,bank_code,bank_name,card_type,card_name,province_code\n"
    row = "622202,ICBC,中国工商银行,debit,借记卡,\n"
    with pytest.raises(ValueError, match="duplicate"):
        BinTable.from_csv_text(header + row + row)


# --- debit only -----------------------------------------------------------------------------------


def test_require_debit_accepts_a_known_debit_card() -> None:
    check = require_debit(_card("621700"))
    assert check.card_bin is not None
    assert check.card_bin.bank_code == "CCB"
    assert not check.needs_review
    assert check.card.luhn_valid


def test_require_debit_refuses_credit_cards() -> None:
    with pytest.raises(CreditCardNotAllowed) as caught:
        require_debit(_card("622575", 16))
    assert caught.value.code == "credit_card_not_allowed"
    assert caught.value.extra == {"bank_code": "CMB"}


def test_unknown_bins_are_refused_or_flagged_by_policy() -> None:
    with pytest.raises(CardBinUnknown) as caught:
        require_debit(_card("999999"))
    assert caught.value.code == "card_bin_unknown"
    check = require_debit(_card("999999"), unknown=UnknownBinPolicy.REVIEW)
    assert check.card_bin is None
    assert check.needs_review


def test_require_debit_checks_the_number_first() -> None:
    with pytest.raises(CardNumberMalformed):
        require_debit("6222")


# --- Class II account numbers ---------------------------------------------------------------------


def test_account_number_worked_example() -> None:
    # payload 623188 + 000000000042; doubling from the right: 2->4, 4, zeros, 8->16->7, 8, 1->2,
    # 3, 2->4, 6: sum 38, check digit 2
    assert make_account_number("623188", 42) == "6231880000000000422"
    assert is_valid_account_number("6231 8800 0000 0000 422")
    assert is_valid_account_number("6231880000000000422", prefix="6231 88")
    assert not is_valid_account_number("6231880000000000422", prefix="623189")
    assert not is_valid_account_number("6231880000000000423")
    # 623188 000000007: 7->14->5, 8, 8->7, 1, 3->6, 2, 6->3: sum 32, check digit 8
    assert make_account_number("6231 88", 7, length=16) == "6231880000000078"


def test_sequence_range_and_configuration() -> None:
    assert sequence_capacity("623188", length=16) == 10**9
    assert make_account_number("623188", 10**9 - 1, length=16).startswith("623188999999999")
    with pytest.raises(AccountSequenceOutOfRange) as caught:
        make_account_number("623188", 10**9, length=16)
    assert caught.value.code == "account_sequence_out_of_range"
    with pytest.raises(AccountSequenceOutOfRange):
        make_account_number("623188", -1)
    for prefix, length in (("", 19), ("62A188", 19), ("623188", 20), ("6" * 18, 19)):
        with pytest.raises(AccountNumberConfigInvalid):
            make_account_number(prefix, 0, length=length)


prefixes = st.text(DIGITS, min_size=4, max_size=8)
lengths = st.integers(16, 19)


@given(prefixes, lengths, st.data())
def test_made_numbers_are_valid_and_well_formed(
    prefix: str, length: int, data: st.DataObject
) -> None:
    sequence = data.draw(st.integers(0, sequence_capacity(prefix, length=length) - 1))
    number = make_account_number(prefix, sequence, length=length)
    assert len(number) == length
    assert number.startswith(prefix)
    assert is_valid_account_number(number, prefix=prefix)


@given(prefixes, st.integers(0, 10**8), st.data())
def test_any_single_digit_change_is_detected(
    prefix: str, sequence: int, data: st.DataObject
) -> None:
    number = make_account_number(prefix, sequence)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in DIGITS if d != number[position]]))
    assert not is_valid_account_number(number[:position] + replacement + number[position + 1 :])
