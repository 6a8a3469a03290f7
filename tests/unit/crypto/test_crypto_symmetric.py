"""SM3, HMAC-SM3 and SM4 against the standards' known answers, plus tamper and round trips."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from greenbank.crypto import (
    CryptoBadInput,
    CryptoBadKey,
    CryptoDecryptFailed,
    Sm4GcmKey,
    hmac_sm3,
    sm3,
    sm4_cbc_decrypt,
    sm4_cbc_encrypt,
    sm4_ctr_decrypt,
    sm4_ctr_encrypt,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from greenbank.crypto import symmetric as sym
from greenbank.crypto.selftest import SM4_KEY

keys = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=12, max_size=12)


def test_sm3_gbt32905_example_1_abc() -> None:
    assert sm3(b"abc").hex() == ("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def test_sm3_gbt32905_example_2_sixty_four_bytes() -> None:
    assert sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


@pytest.mark.parametrize(
    ("key", "message", "expected"),
    [
        # RFC 4231 test cases 1 and 2 with SM3; no standard publishes HMAC-SM3 vectors, these are
        # the values OpenSSL (`openssl mac -digest SM3 HMAC`), GmSSL and Bouncy Castle agree on.
        (
            b"\x0b" * 20,
            b"Hi There",
            "51b00d1fb49832bfb01c3ce27848e59f871d9ba938dc563b338ca964755cce70",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882",
        ),
    ],
)
def test_hmac_sm3_vectors(key: bytes, message: bytes, expected: str) -> None:
    assert hmac_sm3(key, message).hex() == expected


@given(key=st.binary(max_size=100), message=st.binary(max_size=200))
def test_hmac_sm3_is_rfc2104_over_sm3(key: bytes, message: bytes) -> None:
    """Rebuild HMAC by hand from sm3(): block size 64, long keys hashed first."""
    if len(key) > 64:
        key = sm3(key)
    key = key.ljust(64, b"\x00")
    inner = sm3(bytes(b ^ 0x36 for b in key) + message)
    assert hmac_sm3(key, message) == sm3(bytes(b ^ 0x5C for b in key) + inner)


def test_sm4_gbt32907_single_block() -> None:
    assert sym.sm4_ecb_encrypt(SM4_KEY, SM4_KEY).hex() == "681edf34d206965e86b3e94f536e4246"


@pytest.mark.slow
def test_sm4_gbt32907_one_million_encryptions() -> None:
    """Example 2: encrypt the block with itself as input 1,000,000 times under the same key."""
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    update = encryptor.update
    for _ in range(1_000_000):
        block = update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_rfc8998_appendix_a1() -> None:
    sealed = sm4_gcm_encrypt(
        sym.RFC8998_KEY, sym.RFC8998_NONCE, sym.RFC8998_PLAINTEXT, sym.RFC8998_AAD
    )
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert sm4_gcm_decrypt(sym.RFC8998_KEY, sym.RFC8998_NONCE, sealed, sym.RFC8998_AAD) == (
        sym.RFC8998_PLAINTEXT
    )


def test_fast_and_public_gcm_paths_agree() -> None:
    """The fast path is an optimisation only: the public Cipher API gives the same bytes."""
    key = Sm4GcmKey(sym.RFC8998_KEY)
    via_public = sym._public_enc(key._algorithm, modes.GCM(sym.RFC8998_NONCE))
    via_public.authenticate_additional_data(sym.RFC8998_AAD)
    out = via_public.update(sym.RFC8998_PLAINTEXT)
    via_public.finalize()
    assert out + via_public.tag == key.encrypt(
        sym.RFC8998_NONCE, sym.RFC8998_PLAINTEXT, sym.RFC8998_AAD
    )
    assert sym.FAST_GCM  # cryptography 50 exposes the factory; if this flips, re-check speed


@pytest.mark.parametrize("where", ["ciphertext", "tag", "aad", "nonce"])
def test_sm4_gcm_rejects_any_flipped_bit(where: str) -> None:
    key, nonce, aad = sym.RFC8998_KEY, sym.RFC8998_NONCE, sym.RFC8998_AAD
    sealed = sm4_gcm_encrypt(key, nonce, b"personal data", aad)
    flip = {"ciphertext": 0, "tag": len(sealed) - 1}
    if where in flip:
        damaged = bytearray(sealed)
        damaged[flip[where]] ^= 0x01
        sealed = bytes(damaged)
    elif where == "aad":
        aad = aad[:-1] + bytes([aad[-1] ^ 0x80])
    else:
        nonce = bytes([nonce[0] ^ 0x01]) + nonce[1:]
    with pytest.raises(CryptoDecryptFailed):
        sm4_gcm_decrypt(key, nonce, sealed, aad)


def test_sm4_gcm_wrong_key_and_short_input_are_rejected() -> None:
    sealed = sm4_gcm_encrypt(b"k" * 16, b"n" * 12, b"x")
    with pytest.raises(CryptoDecryptFailed):
        sm4_gcm_decrypt(b"K" * 16, b"n" * 12, sealed)
    with pytest.raises(CryptoDecryptFailed):
        sm4_gcm_decrypt(b"k" * 16, b"n" * 12, sealed[:15])


@pytest.mark.parametrize("bad_key", [b"", b"k" * 15, b"k" * 32])
def test_sm4_keys_must_be_16_bytes(bad_key: bytes) -> None:
    with pytest.raises(CryptoBadKey):
        sm4_gcm_encrypt(bad_key, b"n" * 12, b"x")
    with pytest.raises(CryptoBadKey):
        sm4_cbc_encrypt(bad_key, b"i" * 16, b"x")


def test_nonce_and_iv_sizes_are_enforced() -> None:
    with pytest.raises(CryptoBadInput):
        sm4_gcm_encrypt(b"k" * 16, b"n" * 16, b"x")
    with pytest.raises(CryptoBadInput):
        sm4_cbc_encrypt(b"k" * 16, b"i" * 12, b"x")
    with pytest.raises(CryptoBadInput):
        sm4_ctr_encrypt(b"k" * 16, b"c" * 12, b"x")


def test_cbc_pads_with_pkcs7_a_full_block_when_aligned() -> None:
    key, iv = SM4_KEY, bytes(16)
    assert len(sm4_cbc_encrypt(key, iv, b"")) == 16
    assert len(sm4_cbc_encrypt(key, iv, b"x" * 15)) == 16
    assert len(sm4_cbc_encrypt(key, iv, b"x" * 16)) == 32
    # The first block of CBC with a zero IV is the raw SM4 block of the (padded) plaintext.
    padded = b"x" * 15 + b"\x01"
    assert sm4_cbc_encrypt(key, iv, b"x" * 15) == sym.sm4_ecb_encrypt(key, padded)


def test_cbc_bad_padding_and_lengths_raise_decrypt_failed() -> None:
    key, iv = SM4_KEY, bytes(16)
    bad_padding = sym.sm4_ecb_encrypt(key, b"x" * 15 + b"\x05")  # claims 5 pad bytes of 0x05
    for data in (bad_padding, b"", b"x" * 17):
        with pytest.raises(CryptoDecryptFailed):
            sm4_cbc_decrypt(key, iv, data)


def test_ctr_matches_ecb_keystream() -> None:
    counter = bytes(15) + b"\x01"
    keystream = sym.sm4_ecb_encrypt(SM4_KEY, counter)
    assert sm4_ctr_encrypt(SM4_KEY, counter, bytes(16)) == keystream


@given(key=keys, nonce=nonces, plaintext=st.binary(max_size=300), aad=st.binary(max_size=64))
def test_gcm_round_trip(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> None:
    sealed = sm4_gcm_encrypt(key, nonce, plaintext, aad)
    assert len(sealed) == len(plaintext) + 16
    assert sm4_gcm_decrypt(key, nonce, sealed, aad) == plaintext


@given(key=keys, iv=st.binary(min_size=16, max_size=16), data=st.binary(max_size=100))
def test_cbc_and_ctr_round_trip(key: bytes, iv: bytes, data: bytes) -> None:
    sealed = sm4_cbc_encrypt(key, iv, data)
    assert len(sealed) == (len(data) // 16 + 1) * 16
    assert sm4_cbc_decrypt(key, iv, sealed) == data
    assert sm4_ctr_decrypt(key, iv, sm4_ctr_encrypt(key, iv, data)) == data
