"""SM2 on both backends: GB/T 32918.5 Annex A vectors, key formats, tamper, cross-backend checks."""

from __future__ import annotations

import threading

import pytest
from crypto_support import requires_libcrypto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenbank.crypto import (
    DEFAULT_UID,
    CryptoBackendUnavailable,
    CryptoBadInput,
    CryptoBadKey,
    CryptoDecryptFailed,
    SM2PrivateKey,
    SM2PublicKey,
    backend_name,
    ciphertext_c1c3c2_to_der,
    ciphertext_der_to_c1c3c2,
    formats,
    signature_der_to_raw,
    signature_raw_to_der,
    sm3,
    use_backend,
)
from greenbank.crypto import _sm2_pure as pure
from greenbank.crypto.selftest import (
    ANNEX_CIPHERTEXT_C1C3C2,
    ANNEX_D,
    ANNEX_K,
    ANNEX_MESSAGE,
    ANNEX_PLAINTEXT,
    ANNEX_PUBLIC,
    ANNEX_SIGNATURE_RAW,
    ANNEX_UID,
)

ANNEX_SIGNATURE = signature_raw_to_der(ANNEX_SIGNATURE_RAW)
ANNEX_CIPHERTEXT = ciphertext_c1c3c2_to_der(ANNEX_CIPHERTEXT_C1C3C2)
few = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_annex_a_private_key_gives_the_published_public_key(sm2_backend: str) -> None:
    assert SM2PrivateKey.from_raw(ANNEX_D).public_key().to_raw() == ANNEX_PUBLIC


def test_annex_a_signature_verifies_and_tampering_fails(sm2_backend: str) -> None:
    public = SM2PublicKey.from_raw(ANNEX_PUBLIC)
    assert public.verify(ANNEX_SIGNATURE, ANNEX_MESSAGE, ANNEX_UID)
    assert ANNEX_UID == DEFAULT_UID  # the annex uses the GM/T 0009 default ID
    assert public.verify(ANNEX_SIGNATURE, ANNEX_MESSAGE)
    assert not public.verify(ANNEX_SIGNATURE, b"message digesT", ANNEX_UID)
    assert not public.verify(ANNEX_SIGNATURE, ANNEX_MESSAGE, b"ALICE123@YAHOO.COM")
    for bit in (0, 255, 256, 511):  # a bit of r, and of s
        raw = bytearray(ANNEX_SIGNATURE_RAW)
        raw[bit // 8] ^= 0x80 >> (bit % 8)
        assert not public.verify(signature_raw_to_der(bytes(raw)), ANNEX_MESSAGE, ANNEX_UID)


def test_annex_a_ciphertext_decrypts(sm2_backend: str) -> None:
    assert SM2PrivateKey.from_raw(ANNEX_D).decrypt(ANNEX_CIPHERTEXT) == ANNEX_PLAINTEXT


def test_pure_backend_reproduces_annex_a_exactly_with_the_published_k() -> None:
    """With the annex's random k fixed, signature and ciphertext must match byte for byte; the
    intermediate e = SM3(Z || M) is the annex's F0B43E94...C0D28640."""
    key = pure.PurePrivateKey(int.from_bytes(ANNEX_D, "big"))
    z = pure._z(ANNEX_UID, key.public().point)
    assert sm3(z + ANNEX_MESSAGE).hex().upper() == (
        "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
    )
    signature = key.sign(ANNEX_MESSAGE, ANNEX_UID, k=ANNEX_K)
    assert signature_der_to_raw(signature) == ANNEX_SIGNATURE_RAW
    assert key.public().encrypt(ANNEX_PLAINTEXT, k=ANNEX_K) == ANNEX_CIPHERTEXT


def test_sign_is_randomised_and_every_signature_verifies(sm2_backend: str) -> None:
    key = SM2PrivateKey.generate()
    first, second = key.sign(b"pay 100 fen"), key.sign(b"pay 100 fen")
    assert first != second
    assert all(key.public_key().verify(s, b"pay 100 fen") for s in (first, second))
    assert not key.public_key().verify(first, b"pay 100 fen", uid=b"someone-else")
    assert not SM2PrivateKey.generate().public_key().verify(first, b"pay 100 fen")


@pytest.mark.parametrize(
    "garbage", [b"", b"\x30\x00", b"not a signature", ANNEX_SIGNATURE + b"\x00"]
)
def test_malformed_signatures_are_simply_invalid(sm2_backend: str, garbage: bytes) -> None:
    assert not SM2PublicKey.from_raw(ANNEX_PUBLIC).verify(garbage, ANNEX_MESSAGE)


def test_ciphertext_tampering_is_detected(sm2_backend: str) -> None:
    key = SM2PrivateKey.generate()
    raw = bytearray(ciphertext_der_to_c1c3c2(key.public_key().encrypt(b"6217271234561234")))
    for index in (1, 64, 70, 100, len(raw) - 1):  # C1 x and y, C3, C2
        damaged = bytearray(raw)
        damaged[index] ^= 0x01
        with pytest.raises(CryptoDecryptFailed):
            key.decrypt(ciphertext_c1c3c2_to_der(bytes(damaged)))
    with pytest.raises(CryptoDecryptFailed):
        key.decrypt(b"\x30\x03\x02\x01\x01")
    with pytest.raises(CryptoDecryptFailed):
        SM2PrivateKey.generate().decrypt(ciphertext_c1c3c2_to_der(bytes(raw)))


def test_empty_plaintext_is_refused(sm2_backend: str) -> None:
    with pytest.raises(CryptoBadInput):
        SM2PrivateKey.generate().public_key().encrypt(b"")


def test_pem_der_raw_round_trips(sm2_backend: str) -> None:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.to_pem().startswith(b"-----BEGIN PUBLIC KEY-----")
    for copy in (
        SM2PrivateKey.from_pem(key.to_pem()),
        SM2PrivateKey.from_der(key.to_der()),
        SM2PrivateKey.from_raw(key.to_raw()),
    ):
        assert copy.to_der() == key.to_der()
    assert SM2PublicKey.from_pem(public.to_pem()) == public
    assert SM2PublicKey.from_der(public.to_der()) == public
    assert SM2PublicKey.from_raw(public.to_raw()[1:]) == public  # 64-byte x||y accepted too
    assert key.to_raw().hex() not in repr(key)


def test_sec1_keys_are_imported_under_both_pem_labels(sm2_backend: str) -> None:
    der = formats.sec1_private_der(int.from_bytes(ANNEX_D, "big"), ANNEX_PUBLIC)
    for label in ("EC PRIVATE KEY", "SM2 PRIVATE KEY"):
        key = SM2PrivateKey.from_pem(formats.pem_encode(label, der))
        assert key.public_key().to_raw() == ANNEX_PUBLIC
    assert SM2PrivateKey.from_der(der).to_raw() == ANNEX_D


def test_sec1_with_a_mismatched_public_key_is_rejected(sm2_backend: str) -> None:
    other = SM2PrivateKey.generate().public_key().to_raw()
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_der(formats.sec1_private_der(int.from_bytes(ANNEX_D, "big"), other))


@requires_libcrypto
def test_encrypted_pkcs8_needs_the_right_password() -> None:
    use_backend("openssl")
    try:
        key = SM2PrivateKey.generate()
        pem = key.to_pem(password="s3cret")
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert SM2PrivateKey.from_pem(pem, password=b"s3cret").to_der() == key.to_der()
        assert (
            SM2PrivateKey.from_der(key.to_der(password="pw"), password="pw").to_der()
            == key.to_der()
        )
        for wrong in (None, "", "S3cret"):
            with pytest.raises(CryptoBadKey):
                SM2PrivateKey.from_pem(pem, password=wrong)
    finally:
        use_backend(None)


def test_pure_backend_says_encrypted_keys_need_openssl(pure_backend: str) -> None:
    key = SM2PrivateKey.generate()
    with pytest.raises(CryptoBackendUnavailable):
        key.to_pem(password="pw")
    with pytest.raises(CryptoBackendUnavailable):
        SM2PrivateKey.from_pem(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        )


def test_keys_on_other_curves_are_rejected(sm2_backend: str) -> None:
    p256 = ec.generate_private_key(ec.SECP256R1())
    private_pem = p256.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = p256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_pem(private_pem)
    with pytest.raises(CryptoBadKey):
        SM2PublicKey.from_pem(public_pem)


@pytest.mark.parametrize(
    "scalar",
    [bytes(32), (pure.N - 1).to_bytes(32, "big"), pure.N.to_bytes(32, "big"), b"\x01" * 31],
)
def test_raw_private_scalars_outside_1_to_n_minus_2_are_rejected(scalar: bytes) -> None:
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_raw(scalar)


def test_raw_public_points_off_the_curve_are_rejected(sm2_backend: str) -> None:
    off_curve = ANNEX_PUBLIC[:-1] + bytes([ANNEX_PUBLIC[-1] ^ 1])
    for bad in (off_curve, b"\x02" + ANNEX_PUBLIC[1:33], b"\x04" + bytes(64)):
        with pytest.raises(CryptoBadKey):
            SM2PublicKey.from_raw(bad)


def test_pem_and_der_constructors_check_the_encoding(sm2_backend: str) -> None:
    key = SM2PrivateKey.generate()
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_pem(key.to_der())
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_der(key.to_pem())
    with pytest.raises(CryptoBadKey):
        SM2PrivateKey.from_der(b"\x30\x03\x02\x01\x00")


@requires_libcrypto
@few
@given(message=st.binary(max_size=200), uid=st.binary(max_size=40))
def test_signatures_cross_verify_between_backends(message: bytes, uid: bytes) -> None:
    use_backend("openssl")
    native = SM2PrivateKey.generate()
    use_backend("pure")
    try:
        fallback = SM2PrivateKey.from_der(native.to_der())
        assert fallback.public_key().verify(native.sign(message, uid), message, uid)
        assert native.public_key().verify(fallback.sign(message, uid), message, uid)
    finally:
        use_backend(None)


@requires_libcrypto
@few
@given(plaintext=st.binary(min_size=1, max_size=200))
def test_ciphertexts_cross_decrypt_between_backends(plaintext: bytes) -> None:
    use_backend("openssl")
    native = SM2PrivateKey.generate()
    use_backend("pure")
    try:
        fallback = SM2PrivateKey.from_der(native.to_der())
        assert fallback.decrypt(native.public_key().encrypt(plaintext)) == plaintext
        assert native.decrypt(fallback.public_key().encrypt(plaintext)) == plaintext
    finally:
        use_backend(None)


@requires_libcrypto
def test_backend_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        assert use_backend("openssl").startswith("openssl-3.")
        assert backend_name().endswith("(libcrypto)")
        assert use_backend("pure").startswith("pure-python")
        monkeypatch.setenv("GREENBANK_CRYPTO_BACKEND", "pure")
        assert use_backend(None).startswith("pure-python")
        with pytest.raises(CryptoBackendUnavailable):
            use_backend("bouncycastle")
        monkeypatch.setenv("GREENBANK_LIBCRYPTO", "/nonexistent/libcrypto.so.3")
        with pytest.raises(CryptoBackendUnavailable):
            use_backend("openssl")
        assert use_backend("auto").startswith("pure-python")  # falls back, with a warning
    finally:
        monkeypatch.delenv("GREENBANK_CRYPTO_BACKEND")
        monkeypatch.delenv("GREENBANK_LIBCRYPTO")
        use_backend(None)


@requires_libcrypto
def test_one_key_is_safe_to_share_between_threads() -> None:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    failures: list[str] = []

    def work(n: int) -> None:
        for i in range(50):
            message = f"thread {n} message {i}".encode()
            if not public.verify(key.sign(message), message):
                failures.append(f"verify {n}/{i}")
            if key.decrypt(public.encrypt(message)) != message:
                failures.append(f"decrypt {n}/{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


@requires_libcrypto
@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc")
def test_openssl_objects_are_freed() -> None:
    """Thousands of load/sign/verify/encrypt/decrypt cycles must not grow memory: each cycle makes
    two EVP_PKEYs and several contexts, so a leak of any of them would show as megabytes."""
    der = SM2PrivateKey.generate().to_der()

    def cycle() -> None:
        key = SM2PrivateKey.from_der(der)
        public = key.public_key()
        assert public.verify(key.sign(b"m"), b"m")
        assert key.decrypt(public.encrypt(b"m")) == b"m"

    for _ in range(200):
        cycle()
    before = _rss_kib()
    for _ in range(1000):
        cycle()
    assert _rss_kib() - before < 1024
