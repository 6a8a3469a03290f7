"""Province table, mobile home area, and the regional-bank RegionPolicy decision table."""

from __future__ import annotations

from datetime import date

import pytest
from phonenumbers import geocoder

from greenbank.customers import region
from greenbank.customers.cards import lookup_bin, luhn_check_digit
from greenbank.customers.identity import IdNumber, id_check_char, parse_id_number
from greenbank.customers.region import (
    InvalidRegionPolicy,
    Outcome,
    RegionNotServed,
    RegionPolicy,
    Signal,
    mobile_home,
    province_of_address,
    provinces,
)

TODAY = date(2026, 6, 1)
GUANGDONG = RegionPolicy(allowed_province_codes={"44"})
SHENZHEN_MOBILE = "13926512345"  # geocoder: 广东省深圳市
BEIJING_MOBILE = "13800138000"  # geocoder: 北京市


def _id(region_code: str) -> IdNumber:
    first17 = f"{region_code}19900101123"
    return parse_id_number(first17 + id_check_char(first17), on=TODAY)


def _card(prefix: str) -> str:
    payload = prefix + "1" * (18 - len(prefix))
    return payload + luhn_check_digit(payload)


GD_REGIONAL_CARD = lookup_bin(_card("621727"))  # 广东南粤银行
NATIONAL_CARD = lookup_bin(_card("622202"))  # 工商银行: says nothing about region
BJ_REGIONAL_CARD = lookup_bin(_card("621468"))  # 北京银行


def test_the_province_table_has_the_34_divisions() -> None:
    table = provinces()
    assert len(table) == 34
    assert table["44"].name == "广东省"
    assert table["65"].short_name == "新疆"
    assert {"71", "81", "82"} <= table.keys()


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("广东省广州市天河区体育西路1号", "44"),
        ("广东 广州市", "44"),
        ("内蒙古自治区呼和浩特市", "15"),
        ("上海市黄浦区南京东路", "31"),
        ("上海南京西路", "31"),  # contains 海南, but starts with 上海
        ("广州市天河区", None),  # no province at the start: unknown
        ("", None),
        (None, None),
    ],
)
def test_province_of_address(address: str | None, code: str | None) -> None:
    province = province_of_address(address)
    assert (province.code if province else None) == code


def test_mobile_home_uses_the_offline_geocoder() -> None:
    shenzhen = mobile_home(SHENZHEN_MOBILE)
    assert shenzhen.description == "广东省深圳市"
    assert shenzhen.province is not None
    assert shenzhen.province.code == "44"
    beijing = mobile_home("+86 138 0013 8000")
    assert beijing.province is not None
    assert beijing.province.code == "11"


def test_a_geocoder_answer_without_a_province_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geocoder, "description_for_number", lambda _n, _lang: "中国")
    home = mobile_home(SHENZHEN_MOBILE)
    assert home.description == "中国"
    assert home.province is None


# --- decision table --------------------------------------------------------------------------


def _signals(decision: region.RegionDecision) -> dict[Signal, bool | None]:
    return {s.signal: s.in_region for s in decision.signals}


def test_an_id_number_from_the_region_allows_whatever_else_says() -> None:
    decision = GUANGDONG.evaluate(
        id_number=_id("440305"),
        id_address="北京市朝阳区",
        mobile=BEIJING_MOBILE,
        card_bin=BJ_REGIONAL_CARD,
        declared_residence="北京市",
    )
    assert decision.outcome is Outcome.ALLOW
    assert decision.reasons == ("id_number_in_region",)
    assert _signals(decision) == {
        Signal.ID_NUMBER: True,
        Signal.ID_ADDRESS: False,
        Signal.MOBILE: False,
        Signal.CARD_BANK: False,
        Signal.DECLARED_RESIDENCE: False,
    }
    decision.raise_if_refused()


def test_an_outside_id_with_enough_local_signals_goes_to_review() -> None:
    decision = GUANGDONG.evaluate(
        id_number=_id("430102"),
        id_address="广东省深圳市南山区",
        mobile=SHENZHEN_MOBILE,
        card_bin=NATIONAL_CARD,
        declared_residence="广东省深圳市",
    )
    assert decision.outcome is Outcome.REVIEW
    assert decision.reasons == (
        "id_number_outside_region",
        "id_address_in_region",
        "mobile_in_region",
        "declared_residence_in_region",
    )
    assert _signals(decision)[Signal.CARD_BANK] is None  # a national bank is no signal
    mobile_signal = next(s for s in decision.signals if s.signal is Signal.MOBILE)
    assert mobile_signal.note == "广东省深圳市"
    assert mobile_signal.province_code == "44"
    decision.raise_if_refused()


def test_two_supporting_signals_are_the_default_threshold() -> None:
    decision = GUANGDONG.evaluate(
        id_number=_id("430102"), mobile=SHENZHEN_MOBILE, card_bin=GD_REGIONAL_CARD
    )
    assert decision.outcome is Outcome.REVIEW
    assert decision.reasons[1:] == ("mobile_in_region", "card_bank_in_region")
    card_signal = next(s for s in decision.signals if s.signal is Signal.CARD_BANK)
    assert card_signal.note == "NYBANK"


def test_one_supporting_signal_is_refused() -> None:
    decision = GUANGDONG.evaluate(id_number=_id("430102"), mobile=SHENZHEN_MOBILE)
    assert decision.outcome is Outcome.REFUSE
    assert decision.reasons == ("region_not_served",)
    with pytest.raises(RegionNotServed) as caught:
        decision.raise_if_refused()
    assert caught.value.code == "region_not_served"
    assert caught.value.status == 403


def test_everything_outside_or_unknown_is_refused() -> None:
    decision = GUANGDONG.evaluate(
        id_number=_id("110105"),
        id_address="北京市",
        mobile=BEIJING_MOBILE,
        card_bin=None,
        declared_residence="深圳市",
    )
    assert decision.outcome is Outcome.REFUSE
    assert _signals(decision)[Signal.DECLARED_RESIDENCE] is None
    assert _signals(decision)[Signal.CARD_BANK] is None


def test_the_threshold_and_the_region_are_settings() -> None:
    strict = RegionPolicy(allowed_province_codes={"44"}, review_min_signals=3)
    lenient = RegionPolicy(allowed_province_codes={"44"}, review_min_signals=1)
    newcomer = _id("430102")
    two = strict.evaluate(id_number=newcomer, mobile=SHENZHEN_MOBILE, card_bin=GD_REGIONAL_CARD)
    assert two.outcome is Outcome.REFUSE
    one = lenient.evaluate(id_number=newcomer, mobile=SHENZHEN_MOBILE)
    assert one.outcome is Outcome.REVIEW
    greater_bay = RegionPolicy(allowed_province_codes={"44", "81", "82"})
    assert greater_bay.evaluate(id_number=_id("810000")).outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("codes", "threshold"), [(set(), 2), ({"44", "99"}, 2), ({"44"}, 0), ({"44"}, 5)]
)
def test_impossible_policies_are_refused(codes: set[str], threshold: int) -> None:
    with pytest.raises(InvalidRegionPolicy) as caught:
        RegionPolicy(allowed_province_codes=codes, review_min_signals=threshold)
    assert caught.value.code == "invalid_region_policy"
