"""Pure parts of the opening flow: consents, next steps, settings parsing, refusal errors,
idempotency fingerprints and the OCR text parser."""

from __future__ import annotations

import pytest

from greenbank.accounts.errors import (
    ApplicationRefused,
    ConsentRequired,
    ConsentVersionOutdated,
    refusal,
)
from greenbank.accounts.idempotency import fingerprint
from greenbank.accounts.models import OPEN_STATES, ApplicationState, ConsentKind
from greenbank.accounts.ocr import TextLine, parse_id_card, rows_of
from greenbank.accounts.onboarding import NEXT_STEP, OpeningPolicy, check_consents
from greenbank.accounts.service import NumberPolicy
from greenbank.accounts.wiring import parse_consent_versions
from greenbank.customers.region import RegionPolicy
from greenbank.errors import ConfigurationError

VERSIONS = {k: "2026-01" for k in ConsentKind}
POLICY = OpeningPolicy(
    numbers=NumberPolicy(prefix="6231880001", branch_code="0001"),
    region=RegionPolicy({"44"}),
    consent_versions=VERSIONS,
)


def test_every_consent_at_its_current_version_is_required() -> None:
    given = {k.value: "2026-01" for k in ConsentKind}
    check_consents(POLICY, given)
    with pytest.raises(ConsentRequired):
        check_consents(POLICY, {k: v for k, v in given.items() if k != "sensitive_face"})
    with pytest.raises(ConsentVersionOutdated):
        check_consents(POLICY, {**given, "terms": "2025-06"})


def test_open_states_have_a_next_step_and_finished_ones_none() -> None:
    for state in ApplicationState:
        assert (NEXT_STEP[state] is not None) == (state in OPEN_STATES)


def test_consent_versions_setting() -> None:
    parsed = parse_consent_versions("terms=1, personal_information=2,sensitive_face=3")
    assert parsed == {
        ConsentKind.TERMS: "1",
        ConsentKind.PERSONAL_INFORMATION: "2",
        ConsentKind.SENSITIVE_FACE: "3",
    }
    with pytest.raises(ConfigurationError):
        parse_consent_versions("terms=1,personal_information=2")
    with pytest.raises(ConfigurationError):
        parse_consent_versions("terms=1,personal_information=2,sensitive_face=3,marketing=1")


def test_refusal_codes_are_class_attributes() -> None:
    err = refusal("id_verification_no_record", vendor_code="NO_RECORD")
    assert isinstance(err, ApplicationRefused)
    assert (err.code, err.status, err.extra) == (
        "id_verification_no_record",
        403,
        {"vendor_code": "NO_RECORD"},
    )
    assert type(refusal("id_verification_no_record")) is type(err)


def test_fingerprints_depend_on_action_and_input() -> None:
    a = fingerprint("card", application_id="x", body={"card_number": "1"})
    assert a == fingerprint("card", body={"card_number": "1"}, application_id="x")
    assert a != fingerprint("card_code", application_id="x", body={"card_number": "1"})
    assert fingerprint("id", front=b"a") != fingerprint("id", front=b"b")


def line(text: str, x: float, y: float) -> TextLine:
    return TextLine(text=text, x=x, y=y, height=30)


def test_rows_join_labels_and_values_left_to_right() -> None:
    assert rows_of([line("王小明", 200, 62), line("姓名", 80, 60), line("男", 200, 130)]) == [
        "姓名王小明",
        "男",
    ]


def test_parse_id_card_from_split_and_joined_lines() -> None:
    front = [
        line("姓名", 80, 60),
        line("王小明", 200, 62),
        line("性别男", 90, 130),
        line("民族汉", 300, 131),
        line("出生1990年3月7日", 150, 200),
        line("住址广东省广州市天河区", 200, 270),
        line("体育西路1号", 220, 315),
        line("公民身份号码", 120, 450),
        line("44010619900307123x", 400, 452),
    ]
    back = [
        line("签发机关 广州市公安局天河分局", 300, 390),
        line("有效期限2015.03.01-2035.03.01", 300, 450),
    ]
    card = parse_id_card(front, back)
    assert (card.name, card.sex, card.ethnicity, card.birth) == (
        "王小明",
        "男",
        "汉",
        "1990年3月7日",
    )
    assert card.address == "广东省广州市天河区体育西路1号"
    assert card.id_number == "44010619900307123X"
    assert (card.authority, card.validity) == ("广州市公安局天河分局", "2015.03.01-2035.03.01")


def test_parse_id_card_missing_fields_are_empty() -> None:
    card = parse_id_card([line("一张白纸", 10, 10)], [])
    assert card.name == card.id_number == card.validity == ""
