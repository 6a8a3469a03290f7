"""Pure rules of the open API with worked examples: the canonical messages, the Authorization
header, the replay window, allow-lists, rate limits, batch sizes, webhook URLs, key serials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.crypto import sm3
from greenbank.partners import domain
from greenbank.partners.errors import (
    AuthorizationMalformed,
    BatchTooLarge,
    IdempotencyKeyMissing,
    IpNotAllowed,
    PartnerRateLimited,
    ScenarioNotAllowed,
    TimestampExpired,
    WebhookUrlRefused,
)
from greenbank_sdk.protocol import (
    Authorization,
    callback_key_from_digest,
    format_authorization,
    parse_authorization,
    request_message,
    response_message,
    serial_from_digest,
)

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
SIG = "MEUCIQ" + "A" * 90 + "=="
SERIAL = "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C487"


def header(**fields: str) -> str:
    values = {
        "partner_id": "metro-sz",
        "nonce_str": "593BEC0C930BF1AFEB40B4A08C8FB242",
        "timestamp": "1772415000",
        "serial_no": SERIAL,
        "signature": SIG,
        **fields,
    }
    return format_authorization(Authorization(**values))


def test_the_request_message_is_method_path_timestamp_nonce_body_each_ending_in_newline() -> None:
    message = request_message("post", "/api/v1/open/events?x=1", "1772415000", "abc", b'{"a":1}')
    assert message == b'POST\n/api/v1/open/events?x=1\n1772415000\nabc\n{"a":1}\n'
    assert request_message("GET", "/p", "1", "n", b"") == b"GET\n/p\n1\nn\n\n"


def test_the_response_message_is_timestamp_nonce_body() -> None:
    assert response_message("1772415000", "xyz", b"{}") == b"1772415000\nxyz\n{}\n"


def test_the_header_reads_back_field_by_field() -> None:
    text = header()
    assert text.startswith('GREENBANK-SM2-WITH-SM3 partner_id="metro-sz",nonce_str="593B')
    auth = domain.read_authorization(text)
    assert (auth.partner_id, auth.timestamp, auth.serial_no) == ("metro-sz", "1772415000", SERIAL)


@given(
    partner=st.from_regex(r"[a-z0-9][a-z0-9_.-]{1,20}", fullmatch=True),
    nonce=st.from_regex(r"[A-Za-z0-9]{16,64}", fullmatch=True),
    stamp=st.integers(min_value=1_000_000_000, max_value=9_999_999_999),
)
def test_format_and_parse_are_inverse(partner: str, nonce: str, stamp: int) -> None:
    auth = Authorization(partner, nonce, str(stamp), SERIAL, SIG)
    assert parse_authorization(format_authorization(auth)) == auth
    assert domain.read_authorization(format_authorization(auth)) == auth


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bearer abc",
        'GREENBANK-SM2-WITH-SM3 partner_id="metro-sz"',  # fields missing
        header().replace("nonce_str", "nonce"),  # unknown field
        header() + ',partner_id="other"',  # repeated field
        header(timestamp="17724150"),  # not 10 digits
        header(nonce_str="short"),  # under 16 characters
        header(serial_no=SERIAL.lower()),  # serials are upper-case hex
        header(signature="not base64!"),
        header(partner_id="Metro"),  # upper case is not a partner id
    ],
)
def test_malformed_headers_are_refused_with_one_code(text: str) -> None:
    with pytest.raises(AuthorizationMalformed):
        domain.read_authorization(text)


def test_the_timestamp_may_be_five_minutes_either_side_and_no_more() -> None:
    stamp = int(NOW.timestamp())
    for offset in (-300, 0, 300):
        assert domain.check_timestamp(str(stamp + offset), NOW) == NOW + timedelta(seconds=offset)
    for offset in (-301, 301):
        with pytest.raises(TimestampExpired) as refused:
            domain.check_timestamp(str(stamp + offset), NOW)
        assert refused.value.extra["server_time"] == stamp


def test_a_nonce_is_kept_until_its_timestamp_leaves_the_window() -> None:
    signed = NOW - timedelta(minutes=4)
    assert domain.nonce_expiry(signed) == NOW + timedelta(minutes=1)


def test_the_allow_list() -> None:
    domain.check_ip([], "203.0.113.9")  # no list: anyone
    allow = domain.normalise_allow_list(["203.0.113.0/24", " 198.51.100.7 "])
    assert allow == ["203.0.113.0/24", "198.51.100.7/32"]
    domain.check_ip(allow, "203.0.113.200")
    domain.check_ip(allow, "198.51.100.7")
    for outside in ("198.51.100.8", None, "not-an-ip"):
        with pytest.raises(IpNotAllowed):
            domain.check_ip(allow, outside)
    with pytest.raises(ValueError, match="does not appear"):
        domain.normalise_allow_list(["300.1.1.1"])


def test_the_rate_limit_counts_the_requests_already_made_this_minute() -> None:
    domain.check_rate(599, 600)
    with pytest.raises(PartnerRateLimited) as refused:
        domain.check_rate(600, 600)
    assert refused.value.headers == {"Retry-After": "1"}


def test_batches_hold_at_most_500_events() -> None:
    domain.check_batch_size(500)
    with pytest.raises(BatchTooLarge):
        domain.check_batch_size(501)


def test_idempotency_keys_are_required_and_shaped() -> None:
    assert domain.check_idempotency_key("order-2026-0001") == "order-2026-0001"
    for bad in (None, "", "short", "has space in it", "x" * 129):
        with pytest.raises(IdempotencyKeyMissing):
            domain.check_idempotency_key(bad)


def test_scenarios_outside_the_profile_are_named() -> None:
    domain.check_scenarios(["metro_trip"], ["metro_trip", "bike_trip"])
    with pytest.raises(ScenarioNotAllowed) as refused:
        domain.check_scenarios(["metro_trip", "recycling", "gas"], ["metro_trip"])
    assert refused.value.extra["scenarios"] == ["gas", "recycling"]


def test_webhook_urls_are_https_or_sandbox_loopback() -> None:
    assert domain.check_webhook_url("https://metro.example/cb", sandbox=False)
    assert domain.check_webhook_url("http://127.0.0.1:9000/cb", sandbox=True)
    for url, sandbox in (
        ("http://127.0.0.1:9000/cb", False),
        ("http://metro.example/cb", True),
        ("ftp://metro.example/cb", True),
        ("https:///nohost", False),
    ):
        with pytest.raises(WebhookUrlRefused):
            domain.check_webhook_url(url, sandbox=sandbox)


def test_sandbox_partners_meet_only_sandbox_customers() -> None:
    assert domain.Mode(sandbox=True).admits(True)
    assert not domain.Mode(sandbox=True).admits(False)
    assert domain.Mode(sandbox=False).admits(False)
    assert not domain.Mode(sandbox=False).admits(True)


def test_serials_and_callback_keys_from_sm3() -> None:
    digest = sm3(b"abc")  # GB/T 32905 Annex A: 66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 ...
    assert serial_from_digest(digest) == SERIAL
    assert callback_key_from_digest(digest) == bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e2")
