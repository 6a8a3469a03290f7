"""Pure-Python SM2 (GB/T 32918.2 signatures, GB/T 32918.4 encryption) on the recommended curve.

Used only where the system libcrypto lacks SM2, and as an independent implementation the OpenSSL
backend is cross-checked against. SM3 comes from ``cryptography``. Python integers are not
constant-time, so this backend is not hardened against timing side channels; it is correct and
interoperable, and ``backend_name()`` says when it is in use. Encrypted PKCS#8 is not supported
here (it needs PBES2 with SM2 OIDs, which only OpenSSL provides).
"""

from __future__ import annotations

import secrets

from greenbank.crypto import formats
from greenbank.crypto.errors import (
    CryptoBackendUnavailable,
    CryptoBadCiphertextFormat,
    CryptoBadInput,
    CryptoBadKey,
    CryptoBadSignatureFormat,
    CryptoDecryptFailed,
)
from greenbank.crypto.symmetric import constant_time_equal, sm3

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

Jacobian = tuple[int, int, int]  # (X, Y, Z); Z == 0 is the point at infinity
Affine = tuple[int, int]
_INFINITY: Jacobian = (1, 1, 0)


def _double(p: Jacobian) -> Jacobian:
    x, y, z = p
    if z == 0 or y == 0:
        return _INFINITY
    delta = z * z % P
    gamma = y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P  # a = -3
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y + z) ** 2 - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add(p: Jacobian, q: Jacobian) -> Jacobian:
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    if u1 == u2:
        return _double(p) if s1 == s2 else _INFINITY
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    return x3, y3, z1 * z2 * h % P


def _mul(k: int, point: Affine) -> Jacobian:
    """k * point by 4-bit fixed windows (not constant time; see the module docstring)."""
    table: list[Jacobian] = [_INFINITY, (point[0], point[1], 1)]
    for _ in range(14):
        table.append(_add(table[-1], table[1]))
    acc = _INFINITY
    for shift in range(252, -1, -4):
        for _ in range(4):
            acc = _double(acc)
        acc = _add(acc, table[(k >> shift) & 0xF])
    return acc


def _affine(p: Jacobian) -> Affine:
    if p[2] == 0:
        raise CryptoDecryptFailed("point at infinity")
    zinv = pow(p[2], -1, P)
    zinv2 = zinv * zinv % P
    return p[0] * zinv2 % P, p[1] * zinv2 * zinv % P


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x - A * x - B) % P == 0


def point_bytes(pt: Affine) -> bytes:
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def parse_point(data: bytes) -> Affine:
    """Uncompressed point 04||x||y, checked to lie on the curve (n is prime, cofactor 1)."""
    if len(data) != 65 or data[0] != 4:
        raise CryptoBadKey("SM2 public points are 65 bytes, uncompressed (04||x||y)")
    x, y = int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")
    if not _on_curve(x, y):
        raise CryptoBadKey("point is not on the SM2 curve")
    return x, y


def _z(uid: bytes, pub: Affine) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GB/T 32918.2 section 5.5."""
    if len(uid) >= 8192:
        raise CryptoBadInput("SM2 distinguishing IDs are shorter than 8192 bytes")
    fields = (A, B, GX, GY, pub[0], pub[1])
    return sm3(
        (len(uid) * 8).to_bytes(2, "big") + uid + b"".join(v.to_bytes(32, "big") for v in fields)
    )


def _kdf(shared: bytes, length: int) -> bytes:
    blocks = (sm3(shared + counter.to_bytes(4, "big")) for counter in range(1, length // 32 + 2))
    return b"".join(blocks)[:length]


class PurePublicKey:
    __slots__ = ("point",)

    def __init__(self, point: Affine) -> None:
        self.point = point

    def verify(self, signature: bytes, message: bytes, uid: bytes) -> bool:
        try:
            raw = formats.signature_der_to_raw(signature)
        except CryptoBadSignatureFormat:
            return False
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if not (1 <= r < N and 1 <= s < N):
            return False
        t = (r + s) % N
        if t == 0:
            return False
        e = int.from_bytes(sm3(_z(uid, self.point) + message), "big")
        total = _add(_mul(s, (GX, GY)), _mul(t, self.point))
        if total[2] == 0:
            return False
        return (e + _affine(total)[0]) % N == r

    def encrypt(self, plaintext: bytes, k: int | None = None) -> bytes:
        """GM/T 0009 DER ciphertext; ``k`` is fixed only by known-answer tests."""
        if not plaintext:
            raise CryptoBadInput("SM2 cannot encrypt an empty message")
        while True:
            nonce = k if k is not None else 1 + secrets.randbelow(N - 1)
            c1 = _affine(_mul(nonce, (GX, GY)))
            x2, y2 = (v.to_bytes(32, "big") for v in _affine(_mul(nonce, self.point)))
            mask = _kdf(x2 + y2, len(plaintext))
            if any(mask):
                break
            if k is not None:
                raise CryptoBadInput("this k yields an all-zero key stream")
        c2 = bytes(m ^ t for m, t in zip(plaintext, mask, strict=True))
        c3 = sm3(x2 + plaintext + y2)
        return formats.ciphertext_c1c3c2_to_der(point_bytes(c1) + c3 + c2)

    def spki(self, *, pem: bool) -> bytes:
        der = formats.spki_der(point_bytes(self.point))
        return formats.pem_encode("PUBLIC KEY", der) if pem else der


class PurePrivateKey:
    __slots__ = ("_d", "_public")

    def __init__(self, d: int) -> None:
        if not 1 <= d <= N - 2:
            raise CryptoBadKey("SM2 private scalars lie in [1, n-2]")
        self._d = d
        self._public = PurePublicKey(_affine(_mul(d, (GX, GY))))

    def public(self) -> PurePublicKey:
        return self._public

    def sign(self, message: bytes, uid: bytes, k: int | None = None) -> bytes:
        """DER signature; ``k`` is fixed only by known-answer tests."""
        e = int.from_bytes(sm3(_z(uid, self._public.point) + message), "big")
        inverse = pow(1 + self._d, -1, N)
        while True:
            nonce = k if k is not None else 1 + secrets.randbelow(N - 1)
            r = (e + _affine(_mul(nonce, (GX, GY)))[0]) % N
            s = inverse * (nonce - r * self._d) % N
            if r != 0 and r + nonce != N and s != 0:
                return formats.signature_raw_to_der(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
            if k is not None:
                raise CryptoBadInput("this k yields a degenerate signature")

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            raw = formats.ciphertext_der_to_c1c3c2(ciphertext)
            c1 = parse_point(raw[:65])
        except (CryptoBadCiphertextFormat, CryptoBadKey) as err:
            raise CryptoDecryptFailed(f"SM2 decryption failed: {err.detail}") from None
        c3, c2 = raw[65:97], raw[97:]
        x2, y2 = (v.to_bytes(32, "big") for v in _affine(_mul(self._d, c1)))
        mask = _kdf(x2 + y2, len(c2))
        plaintext = bytes(c ^ t for c, t in zip(c2, mask, strict=True))
        if not any(mask) or not constant_time_equal(sm3(x2 + plaintext + y2), c3):
            raise CryptoDecryptFailed("SM2 decryption failed: hash mismatch")
        return plaintext

    def pkcs8(self, *, pem: bool, password: bytes | None) -> bytes:
        if password is not None:
            raise CryptoBackendUnavailable("encrypted PKCS#8 needs the OpenSSL backend")
        der = formats.pkcs8_private_der(self._d, point_bytes(self._public.point))
        return formats.pem_encode("PRIVATE KEY", der) if pem else der


def _unarmor(data: bytes, labels: tuple[str, ...]) -> bytes:
    if not data.lstrip().startswith(b"-----"):
        return data
    label, der = formats.pem_decode(data)
    if label == "ENCRYPTED PRIVATE KEY":
        raise CryptoBackendUnavailable("encrypted PKCS#8 needs the OpenSSL backend")
    if label not in labels:
        raise CryptoBadKey(f"unexpected PEM block {label!r}")
    return der


class PureBackend:
    """The fallback: every operation in Python integers."""

    name = "pure-python (greenbank._sm2_pure)"

    def generate(self) -> PurePrivateKey:
        return PurePrivateKey(1 + secrets.randbelow(N - 2))

    def load_private(self, data: bytes, password: bytes | None) -> PurePrivateKey:
        der = _unarmor(data, ("PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY"))
        d, point = formats.parse_private_der(der)
        key = PurePrivateKey(d)
        if point is not None and parse_point(point) != key.public().point:
            raise CryptoBadKey("the embedded public key does not match the private scalar")
        return key

    def load_public(self, data: bytes) -> PurePublicKey:
        der = _unarmor(data, ("PUBLIC KEY",))
        return PurePublicKey(parse_point(formats.parse_spki_der(der)))
