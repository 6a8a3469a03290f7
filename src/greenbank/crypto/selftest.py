"""Known-answer self-test run at start-up (and by ``greenbank doctor``).

A wrong answer here means the platform's crypto cannot be trusted, so the app must not start.
Vectors: SM3 from GB/T 32905 Annex A, SM4 from GB/T 32907 Annex A, SM4-GCM from RFC 8998 A.1,
SM2 from GB/T 32918.5 (GM/T 0003.5) Annex A on the recommended curve. HMAC-SM3 has no standard
vector; ours (RFC 4231 case 1 shape) is the value OpenSSL, GmSSL and Bouncy Castle agree on.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from greenbank.crypto import symmetric as sym
from greenbank.crypto.errors import CryptoError, CryptoSelfTestFailed
from greenbank.crypto.formats import ciphertext_c1c3c2_to_der, signature_raw_to_der
from greenbank.crypto.sm2 import SM2PrivateKey, SM2PublicKey

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
SM4_ONE_BLOCK = "681edf34d206965e86b3e94f536e4246"
HMAC_SM3_HI_THERE = "51b00d1fb49832bfb01c3ce27848e59f871d9ba938dc563b338ca964755cce70"

ANNEX_D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
ANNEX_PUBLIC = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
ANNEX_K = int("59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21", 16)
ANNEX_UID = b"1234567812345678"
ANNEX_MESSAGE = b"message digest"
ANNEX_SIGNATURE_RAW = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
ANNEX_PLAINTEXT = b"encryption standard"
ANNEX_CIPHERTEXT_C1C3C2 = bytes.fromhex(
    "04"
    "04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73"
    "E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
    "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
    "21886CA989CA9C7D58087307CA93092D651EFA"
)


def _symmetric() -> bool:
    return (
        sym.sm3(b"abc").hex() == SM3_ABC
        and sym.sm3(b"abcd" * 16).hex() == SM3_ABCD16
        and sym.sm4_ecb_encrypt(SM4_KEY, SM4_KEY).hex() == SM4_ONE_BLOCK
        and sym.hmac_sm3(b"\x0b" * 20, b"Hi There").hex() == HMAC_SM3_HI_THERE
        and sym.sm4_gcm_encrypt(
            sym.RFC8998_KEY, sym.RFC8998_NONCE, sym.RFC8998_PLAINTEXT, sym.RFC8998_AAD
        )
        == sym.RFC8998_SEALED
    )


def _sm2_annex() -> bool:
    key = SM2PrivateKey.from_raw(ANNEX_D)
    public = SM2PublicKey.from_raw(ANNEX_PUBLIC)
    signature = signature_raw_to_der(ANNEX_SIGNATURE_RAW)
    return (
        key.public_key() == public
        and public.verify(signature, ANNEX_MESSAGE, ANNEX_UID)
        and not public.verify(signature, ANNEX_MESSAGE + b".", ANNEX_UID)
        and key.decrypt(ciphertext_c1c3c2_to_der(ANNEX_CIPHERTEXT_C1C3C2)) == ANNEX_PLAINTEXT
    )


def _sm2_round_trip() -> bool:
    key = SM2PrivateKey.generate()
    message = os.urandom(24)
    public = key.public_key()
    return (
        public.verify(key.sign(message), message)
        and key.decrypt(public.encrypt(message)) == message
    )


CHECKS: dict[str, Callable[[], bool]] = {
    "sm3/sm4/hmac-sm3/sm4-gcm": _symmetric,
    "sm2 annex A": _sm2_annex,
    "sm2 round trip": _sm2_round_trip,
}


def self_test() -> None:
    """Run every known-answer test; raise CryptoSelfTestFailed naming the ones that failed."""
    failed = []
    for name, check in CHECKS.items():
        try:
            ok = check()
        except CryptoError as err:
            ok, name = False, f"{name} ({err.code}: {err.detail})"
        if not ok:
            failed.append(name)
    if failed:
        raise CryptoSelfTestFailed("known-answer tests failed: " + ", ".join(failed))
