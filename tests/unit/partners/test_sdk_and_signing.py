"""The SDK against the bank's signing code, without HTTP: a request the SDK signs verifies on
the bank's side; an answer or callback the bank signs verifies and decrypts in the SDK; any
change, an old timestamp or the wrong secret is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from greenbank.crypto import SM2PrivateKey
from greenbank.partners import domain
from greenbank.partners.errors import EncryptedFieldInvalid, SignatureInvalid
from greenbank.partners.signing import (
    PlatformKey,
    PlatformKeys,
    callback_key,
    encrypt_resource,
    key_serial,
    verify_request,
)
from greenbank_sdk import (
    GreenbankClient,
    SDKError,
    load_private_key,
    load_public_key,
    open_callback,
)
from greenbank_sdk.client import key_serial as sdk_serial

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
SECRET = "0123456789abcdef0123456789abcdef-metro"


@pytest.fixture(scope="module")
def platform() -> PlatformKeys:
    private = SM2PrivateKey.generate()
    key = PlatformKey(
        key_serial(private.public_key()), private, private.public_key().to_pem().decode()
    )
    return PlatformKeys(key, {key.serial: key})


def _client(partner: SM2PrivateKey, platform: PlatformKeys) -> GreenbankClient:
    public = load_public_key(platform.current.public_pem.encode())
    return GreenbankClient(
        "http://unused",
        partner_id="metro-sz",
        serial_no=key_serial(partner.public_key()),
        signer=load_private_key(partner.to_pem()),
        platform_keys={sdk_serial(public): public},
        api_secret=SECRET,
        now=NOW.timestamp,
    )


def test_a_request_signed_by_the_sdk_verifies_at_the_bank(platform: PlatformKeys) -> None:
    partner = SM2PrivateKey.generate()
    client = _client(partner, platform)
    body = b'{"event_id":"e1"}'
    auth = domain.read_authorization(client.authorization("POST", "/api/v1/open/events", body))
    assert auth.partner_id == "metro-sz" and auth.timestamp == str(int(NOW.timestamp()))
    assert auth.serial_no == key_serial(partner.public_key())
    pem = partner.public_key().to_pem().decode()
    message = domain.signed_message("POST", "/api/v1/open/events", auth, body)
    verify_request(auth.serial_no, pem, auth.signature, message)
    for changed in (body.replace(b"e1", b"e2"), body + b" "):
        with pytest.raises(SignatureInvalid):
            verify_request(
                auth.serial_no,
                pem,
                auth.signature,
                domain.signed_message("POST", "/api/v1/open/events", auth, changed),
            )
    with pytest.raises(SignatureInvalid):  # the same bytes under another path
        verify_request(
            auth.serial_no, pem, auth.signature, domain.signed_message("POST", "/x", auth, body)
        )


def _callback(
    platform: PlatformKeys, at: datetime, secret: str = SECRET
) -> tuple[dict[str, str], bytes]:
    resource = encrypt_resource(
        callback_key(secret),
        json.dumps({"event_id": "e1", "credited_mg": 583_750}).encode(),
        "event.credited",
    )
    body = json.dumps({"id": "n1", "event_type": "event.credited", "resource": resource}).encode()
    return platform.sign_headers(body, at), body


def test_a_callback_verifies_and_decrypts_in_the_sdk(platform: PlatformKeys) -> None:
    headers, body = _callback(platform, NOW)
    keys = {platform.current.serial: load_public_key(platform.current.public_pem.encode())}
    notice = open_callback(
        headers, body, platform_keys=keys, api_secret=SECRET, now=NOW.timestamp()
    )
    assert notice["resource"] == {"event_id": "e1", "credited_mg": 583_750}
    assert notice["id"] == "n1"


def test_forged_stale_or_foreign_callbacks_are_refused(platform: PlatformKeys) -> None:
    keys = {platform.current.serial: load_public_key(platform.current.public_pem.encode())}
    headers, body = _callback(platform, NOW)
    with pytest.raises(SDKError, match="does not verify"):
        open_callback(
            headers,
            body.replace(b"n1", b"n2"),
            platform_keys=keys,
            api_secret=SECRET,
            now=NOW.timestamp(),
        )
    with pytest.raises(SDKError, match="window"):
        later = (NOW + timedelta(minutes=6)).timestamp()
        open_callback(headers, body, platform_keys=keys, api_secret=SECRET, now=later)
    with pytest.raises(SDKError, match="API secret"):
        open_callback(
            headers, body, platform_keys=keys, api_secret=SECRET + "x", now=NOW.timestamp()
        )
    with pytest.raises(SDKError, match="unknown platform key"):
        open_callback(headers, body, platform_keys={}, api_secret=SECRET, now=NOW.timestamp())
    # A resource encrypted under another partner's secret, correctly signed: still refused.
    other_headers, other_body = _callback(platform, NOW, secret="another-partner-secret-0123456789")
    with pytest.raises(SDKError, match="API secret"):
        open_callback(
            other_headers, other_body, platform_keys=keys, api_secret=SECRET, now=NOW.timestamp()
        )


def test_sensitive_fields_encrypted_by_the_sdk_decrypt_at_the_bank(platform: PlatformKeys) -> None:
    client = _client(SM2PrivateKey.generate(), platform)
    ciphertext, header = client.encrypt("13812345678")
    assert header == {"greenbank-platform-serial": platform.current.serial}
    assert platform.decrypt_field(ciphertext, platform.current.serial) == "13812345678"
    with pytest.raises(EncryptedFieldInvalid):
        platform.decrypt_field(ciphertext, "0" * 40)
    raw = base64.b64decode(ciphertext)
    broken = base64.b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()  # one bit of C2
    with pytest.raises(EncryptedFieldInvalid):
        platform.decrypt_field(broken, None)


def test_endorsements_let_an_old_key_vouch_for_a_new_one(platform: PlatformKeys) -> None:
    newer = SM2PrivateKey.generate()
    new_key = PlatformKey(
        key_serial(newer.public_key()), newer, newer.public_key().to_pem().decode()
    )
    both = PlatformKeys(
        new_key, {new_key.serial: new_key, platform.current.serial: platform.current}
    )
    marks = both.endorsements(new_key.serial, new_key.public_pem)
    message = f"{new_key.serial}\n{new_key.public_pem}".encode()
    old_public = platform.current.private.public_key()
    assert old_public.verify(base64.b64decode(marks[platform.current.serial]), message)
    assert sdk_serial(load_public_key(new_key.public_pem.encode())) == new_key.serial
