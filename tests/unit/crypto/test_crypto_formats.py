"""DER <-> raw conversions for partners: worked examples, strictness and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.crypto import (
    CryptoBadCiphertextFormat,
    CryptoBadKey,
    CryptoBadSignatureFormat,
    ciphertext_c1c3c2_to_der,
    ciphertext_der_to_c1c3c2,
    formats,
    signature_der_to_raw,
    signature_raw_to_der,
)
from greenbank.crypto.selftest import ANNEX_CIPHERTEXT_C1C3C2

scalars = st.integers(min_value=0, max_value=(1 << 256) - 1)


def test_signature_der_worked_example() -> None:
    """r = 1 is one content byte; s with its top bit set needs a leading 0x00 to stay positive."""
    raw = (1).to_bytes(32, "big") + b"\x80" + bytes(31)
    der = signature_raw_to_der(raw)
    assert der == bytes.fromhex("302602010102210080") + bytes(31)
    assert signature_der_to_raw(der) == raw


def test_annex_ciphertext_der_layout() -> None:
    """GM/T 0009: SEQUENCE { x, y INTEGER, C3 OCTET STRING, C2 OCTET STRING } (0x7C long)."""
    der = ciphertext_c1c3c2_to_der(ANNEX_CIPHERTEXT_C1C3C2)
    assert der[:4].hex() == "307c0220"  # x has no top bit; y (E858...) gets a 0x00
    assert der[36:39].hex() == "022100"
    assert ciphertext_der_to_c1c3c2(der) == ANNEX_CIPHERTEXT_C1C3C2


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        bytes.fromhex("3006020101020101") + b"\x00",  # trailing byte
        bytes.fromhex("3006020101020201"),  # length runs past the end
        bytes.fromhex("30070201010202 0001".replace(" ", "")),  # non-minimal INTEGER
        bytes.fromhex("3006020181020101"),  # negative r
        bytes.fromhex("308106020101020101"),  # long-form length for a short body
        bytes.fromhex("3003020101"),  # only r
        bytes.fromhex("300a020101020101020101"),  # three INTEGERs
        bytes.fromhex("3006040101020101"),  # OCTET STRING instead of INTEGER
        bytes.fromhex("3024020101021f") + b"\x01" * 31 + b"\x00",  # wrong inner length
        bytes.fromhex(
            "30250221010000000000000000000000000000000000000000000000000000000000000000020101"
        ),
    ],
)
def test_non_der_signatures_are_refused(bad: bytes) -> None:
    with pytest.raises(CryptoBadSignatureFormat):
        signature_der_to_raw(bad)


def test_raw_signatures_must_be_64_bytes() -> None:
    with pytest.raises(CryptoBadSignatureFormat):
        signature_raw_to_der(bytes(63))


@pytest.mark.parametrize(
    "bad",
    [
        bytes(97 + 1),  # C1 without the 04 tag
        b"\x04" + bytes(96),  # no C2
        b"\x02" + bytes(97),
    ],
)
def test_bad_c1c3c2_is_refused(bad: bytes) -> None:
    with pytest.raises(CryptoBadCiphertextFormat):
        ciphertext_c1c3c2_to_der(bad)


def test_bad_ciphertext_der_is_refused() -> None:
    good = ciphertext_c1c3c2_to_der(b"\x04" + bytes(64) + bytes(32) + b"x")
    short_hash = formats.der_sequence(
        formats.der_integer(1), formats.der_integer(2), formats.der_octet_string(bytes(31)),
        formats.der_octet_string(b"x"),
    )  # fmt: skip
    for bad in (good[:-1], good + b"\x00", short_hash):
        with pytest.raises(CryptoBadCiphertextFormat):
            ciphertext_der_to_c1c3c2(bad)


def test_keys_on_other_curves_and_other_structures_are_refused() -> None:
    p256 = bytes.fromhex("06082A8648CE3D030107")  # prime256v1 OID
    spki = formats.spki_der(b"\x04" + bytes(64)).replace(
        bytes.fromhex("06082A811CCF5501822D"), p256
    )
    with pytest.raises(CryptoBadKey):
        formats.parse_spki_der(spki)
    with pytest.raises(CryptoBadKey):
        formats.parse_private_der(formats.der_sequence(formats.der_integer(2)))
    with pytest.raises(CryptoBadKey):
        formats.pem_decode(b"no armour here")


@given(r=scalars, s=scalars)
def test_signature_conversions_round_trip(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    der = signature_raw_to_der(raw)
    assert signature_der_to_raw(der) == raw
    assert signature_raw_to_der(signature_der_to_raw(der)) == der


@given(
    x=scalars,
    y=scalars,
    c3=st.binary(min_size=32, max_size=32),
    c2=st.binary(min_size=1, max_size=300),
)
def test_ciphertext_conversions_round_trip(x: int, y: int, c3: bytes, c2: bytes) -> None:
    raw = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big") + c3 + c2
    der = ciphertext_c1c3c2_to_der(raw)
    assert ciphertext_der_to_c1c3c2(der) == raw


@given(d=st.integers(min_value=1, max_value=(1 << 255)), point=st.binary(min_size=64, max_size=64))
def test_key_structures_round_trip(d: int, point: bytes) -> None:
    public = b"\x04" + point
    assert formats.parse_private_der(formats.pkcs8_private_der(d, public)) == (d, public)
    assert formats.parse_private_der(formats.sec1_private_der(d)) == (d, None)
    assert formats.parse_spki_der(formats.spki_der(public)) == public
    label, der = formats.pem_decode(formats.pem_encode("PUBLIC KEY", formats.spki_der(public)))
    assert (label, der) == ("PUBLIC KEY", formats.spki_der(public))
