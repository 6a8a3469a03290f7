"""Wire formats for SM2: a strict minimal DER codec, signature and ciphertext conversions between
the DER forms (what OpenSSL and GM/T 0009 use) and the raw forms partners often send, and the key
structures (PKCS#8, SEC1, SPKI) the pure-Python backend and raw-key constructors need.

The decoder is strict on purpose: only minimal lengths and minimal INTEGERs, no trailing bytes, so
one signature has exactly one accepted encoding (no malleability through re-encoding).
"""

from __future__ import annotations

import base64
import binascii
import re

from greenbank.crypto.errors import (
    CryptoBadCiphertextFormat,
    CryptoBadKey,
    CryptoBadSignatureFormat,
)

_INTEGER, _BIT_STRING, _OCTET_STRING, _OID, _SEQUENCE = 0x02, 0x03, 0x04, 0x06, 0x30
_CTX0, _CTX1 = 0xA0, 0xA1
OID_EC_PUBLIC_KEY = bytes.fromhex("2A8648CE3D0201")  # 1.2.840.10045.2.1
OID_SM2_CURVE = bytes.fromhex("2A811CCF5501822D")  # 1.2.156.10197.1.301
_SM2_ALGORITHM = bytes.fromhex("301306072A8648CE3D020106082A811CCF5501822D")


class DerError(ValueError):
    """Internal: the bytes are not the strict DER we expect; callers map it to a CryptoError."""


# --- encoding -------------------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


def der_integer(value: int) -> bytes:
    """Minimal DER INTEGER for a non-negative value."""
    if value < 0:
        raise DerError("negative INTEGER")
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def der_sequence(*parts: bytes) -> bytes:
    return _tlv(_SEQUENCE, b"".join(parts))


def der_octet_string(value: bytes) -> bytes:
    return _tlv(_OCTET_STRING, value)


# --- decoding -------------------------------------------------------------------------------


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """Read one TLV at ``pos``: (tag, body, position after it)."""
    if pos + 2 > len(data):
        raise DerError("truncated")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data) or data[pos] == 0:
            raise DerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80:
            raise DerError("non-minimal length")
        pos += count
    if pos + length > len(data):
        raise DerError("truncated")
    return tag, data[pos : pos + length], pos + length


def _items(body: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(body):
        tag, value, pos = _read(body, pos)
        out.append((tag, value))
    return out


def der_sequence_items(data: bytes) -> list[tuple[int, bytes]]:
    """Decode exactly one SEQUENCE (nothing after it) into (tag, body) pairs."""
    tag, body, end = _read(data, 0)
    if tag != _SEQUENCE or end != len(data):
        raise DerError("expected one SEQUENCE")
    return _items(body)


def parse_integer(tag: int, body: bytes) -> int:
    """A minimal, non-negative DER INTEGER."""
    if tag != _INTEGER or not body:
        raise DerError("expected INTEGER")
    if body[0] & 0x80:
        raise DerError("negative INTEGER")
    if len(body) > 1 and body[0] == 0 and not body[1] & 0x80:
        raise DerError("non-minimal INTEGER")
    return int.from_bytes(body, "big")


def _expect(tag: int, item: tuple[int, bytes]) -> bytes:
    if item[0] != tag:
        raise DerError(f"expected tag {tag:#x}, got {item[0]:#x}")
    return item[1]


# --- signatures and ciphertexts -------------------------------------------------------------


def _scalar32(value: int, what: str) -> bytes:
    if value >= 1 << 256:
        raise DerError(f"{what} is wider than 256 bits")
    return value.to_bytes(32, "big")


def signature_der_to_raw(signature: bytes) -> bytes:
    """DER ``SEQUENCE { r INTEGER, s INTEGER }`` -> 64-byte r||s (each big-endian, 32 bytes)."""
    try:
        items = der_sequence_items(signature)
        if len(items) != 2:
            raise DerError("expected two INTEGERs")
        r, s = (parse_integer(*item) for item in items)
        return _scalar32(r, "r") + _scalar32(s, "s")
    except DerError as err:
        raise CryptoBadSignatureFormat(f"not a DER SM2 signature: {err}") from None


def signature_raw_to_der(signature: bytes) -> bytes:
    """64-byte r||s -> DER ``SEQUENCE { r INTEGER, s INTEGER }``."""
    if len(signature) != 64:
        raise CryptoBadSignatureFormat("a raw SM2 signature is 64 bytes (r||s)")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    return der_sequence(der_integer(r), der_integer(s))


def ciphertext_der_to_c1c3c2(ciphertext: bytes) -> bytes:
    """GM/T 0009 ``SEQUENCE { x, y INTEGER, hash OCTET STRING(32), ct OCTET STRING }`` ->
    C1||C3||C2 with C1 = 04||x||y (65 bytes), C3 the 32-byte SM3 hash, C2 the masked plaintext."""
    try:
        items = der_sequence_items(ciphertext)
        if len(items) != 4:
            raise DerError("expected four fields")
        x, y = parse_integer(*items[0]), parse_integer(*items[1])
        c3, c2 = _expect(_OCTET_STRING, items[2]), _expect(_OCTET_STRING, items[3])
        if len(c3) != 32 or not c2:
            raise DerError("hash must be 32 bytes and ciphertext non-empty")
        return b"\x04" + _scalar32(x, "x") + _scalar32(y, "y") + c3 + c2
    except DerError as err:
        raise CryptoBadCiphertextFormat(f"not a GM/T 0009 SM2 ciphertext: {err}") from None


def ciphertext_c1c3c2_to_der(ciphertext: bytes) -> bytes:
    """C1||C3||C2 (C1 uncompressed, 65 bytes starting 04) -> GM/T 0009 DER."""
    if len(ciphertext) < 65 + 32 + 1 or ciphertext[0] != 4:
        raise CryptoBadCiphertextFormat("C1||C3||C2 needs 04||x||y, a 32-byte C3 and a C2")
    x, y = int.from_bytes(ciphertext[1:33], "big"), int.from_bytes(ciphertext[33:65], "big")
    c3, c2 = ciphertext[65:97], ciphertext[97:]
    return der_sequence(der_integer(x), der_integer(y), der_octet_string(c3), der_octet_string(c2))


# --- keys -----------------------------------------------------------------------------------


def sec1_private_der(d: int, public_point: bytes | None = None) -> bytes:
    """SEC1 ``ECPrivateKey`` on the SM2 curve; OpenSSL derives the public point if it is absent."""
    parts = [der_integer(1), der_octet_string(d.to_bytes(32, "big"))]
    parts.append(_tlv(_CTX0, _tlv(_OID, OID_SM2_CURVE)))
    if public_point is not None:
        parts.append(_tlv(_CTX1, _tlv(_BIT_STRING, b"\x00" + public_point)))
    return der_sequence(*parts)


def pkcs8_private_der(d: int, public_point: bytes) -> bytes:
    """Unencrypted PKCS#8 ``PrivateKeyInfo`` exactly as OpenSSL 3 writes an SM2 key."""
    inner = der_sequence(
        der_integer(1),
        der_octet_string(d.to_bytes(32, "big")),
        _tlv(_CTX1, _tlv(_BIT_STRING, b"\x00" + public_point)),
    )
    return der_sequence(der_integer(0), _SM2_ALGORITHM, der_octet_string(inner))


def spki_der(public_point: bytes) -> bytes:
    """``SubjectPublicKeyInfo`` for an uncompressed SM2 point (04||x||y)."""
    return der_sequence(_SM2_ALGORITHM, _tlv(_BIT_STRING, b"\x00" + public_point))


def _check_algorithm(body: bytes) -> None:
    items = _items(body)
    if len(items) != 2 or _expect(_OID, items[0]) != OID_EC_PUBLIC_KEY:
        raise DerError("not an EC key")
    if _expect(_OID, items[1]) != OID_SM2_CURVE:
        raise DerError("EC key is not on the SM2 curve")


def _bit_string_point(body: bytes) -> bytes:
    if len(body) != 66 or body[0] != 0 or body[1] != 4:
        raise DerError("public key must be an uncompressed point")
    return body[1:]


def parse_private_der(der: bytes) -> tuple[int, bytes | None]:
    """PKCS#8 (unencrypted) or SEC1 SM2 private key -> (scalar, public point if present)."""
    try:
        items = der_sequence_items(der)
        version = parse_integer(*items[0])
        if version in (0, 1) and len(items) >= 3 and items[1][0] == _SEQUENCE:  # PKCS#8
            _check_algorithm(items[1][1])
            return parse_private_der(_expect(_OCTET_STRING, items[2]))
        if version != 1 or len(items) < 2:
            raise DerError("not PKCS#8 or SEC1")
        d = int.from_bytes(_expect(_OCTET_STRING, items[1]), "big")
        point = None
        for tag, body in items[2:]:
            if tag == _CTX0 and _expect(_OID, _read(body, 0)[:2]) != OID_SM2_CURVE:
                raise DerError("EC key is not on the SM2 curve")
            if tag == _CTX1:
                point = _bit_string_point(_expect(_BIT_STRING, _read(body, 0)[:2]))
        return d, point
    except (DerError, IndexError) as err:
        raise CryptoBadKey(f"not an SM2 private key: {err}") from None


def parse_spki_der(der: bytes) -> bytes:
    """``SubjectPublicKeyInfo`` -> uncompressed point 04||x||y."""
    try:
        items = der_sequence_items(der)
        if len(items) != 2 or items[0][0] != _SEQUENCE:
            raise DerError("not a SubjectPublicKeyInfo")
        _check_algorithm(items[0][1])
        return _bit_string_point(_expect(_BIT_STRING, items[1]))
    except DerError as err:
        raise CryptoBadKey(f"not an SM2 public key: {err}") from None


_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s*(.*?)\s*-----END \1-----", re.DOTALL)


def pem_decode(data: bytes) -> tuple[str, bytes]:
    """First PEM block -> (label, DER). Headers (``Proc-Type``) mean legacy encryption: refused."""
    match = _PEM.search(data)
    if match is None:
        raise CryptoBadKey("no PEM block found")
    if b":" in match.group(2):
        raise CryptoBadKey("legacy PEM encryption headers are not supported; use PKCS#8")
    try:
        return match.group(1).decode(), base64.b64decode(match.group(2), validate=False)
    except binascii.Error:
        raise CryptoBadKey("PEM body is not base64") from None


def pem_encode(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join(
        [f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode(), b""]
    )
