"""The verification code printed on a receipt (回单验证码).

A keyed MAC over the fields a verifier types or sees (receipt number, amount, date, payee
account), shortened to 10 characters of an alphabet without look-alikes (no 0/O, 1/I/L), so a
person can read it off paper. 31**10 is about 2**49.5: guessing is hopeless behind the rate
limit of the verification endpoint. The MAC function is a parameter so HMAC-SM3 from
``greenbank.crypto`` can replace HMAC-SHA256 without changing callers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import date

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
_VERSION = b"greenbank-receipt-code-v1"

MacFunction = Callable[[bytes, bytes], bytes]


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _message(receipt_no: str, amount_fen: int, on: date, payee_account: str) -> bytes:
    # Length-prefixed fields: no choice of field values can make two inputs collide.
    parts = [_VERSION, receipt_no.encode(), str(amount_fen).encode(), on.isoformat().encode()]
    parts.append(payee_account.encode())
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def verification_code(
    key: bytes,
    *,
    receipt_no: str,
    amount_fen: int,
    on: date,
    payee_account: str,
    mac: MacFunction = hmac_sha256,
) -> str:
    """10 characters of ``ALPHABET`` from the MAC (128 MAC bits keep the modulo bias negligible)."""
    tag = mac(key, _message(receipt_no, amount_fen, on, payee_account))
    number = int.from_bytes(tag[:16], "big")
    out = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


def normalise_code(code: str) -> str:
    """What a person types: any case, spaces or dashes between groups."""
    return code.upper().replace(" ", "").replace("-", "")


def check_code(
    key: bytes,
    code: str,
    *,
    receipt_no: str,
    amount_fen: int,
    on: date,
    payee_account: str,
    mac: MacFunction = hmac_sha256,
) -> bool:
    """Constant-time comparison of a typed code with the expected one."""
    expected = verification_code(
        key,
        receipt_no=receipt_no,
        amount_fen=amount_fen,
        on=on,
        payee_account=payee_account,
        mac=mac,
    )
    return hmac.compare_digest(normalise_code(code).encode(), expected.encode())
