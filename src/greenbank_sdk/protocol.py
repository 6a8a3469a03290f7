"""The wire format of the greenbank open API, shared by the bank and its partners.

Modelled on WeChat Pay APIv3 in national-cryptography mode. Standard library only, so the bank's
server (``greenbank.partners.domain``) and every partner SDK build byte-identical messages.

* A request is signed over ``METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n``.
* A response or callback is signed over ``TIMESTAMP\\nNONCE\\nBODY\\n``.
* Signatures are SM2 with SM3, distinguishing ID ``1234567812345678``, DER, base64.
* Key serial numbers are the first 40 hex digits (upper case) of SM3 over the key's DER
  SubjectPublicKeyInfo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEME = "GREENBANK-SM2-WITH-SM3"
UID = b"1234567812345678"
API_PREFIX = "/api/v1/open"

# Response and callback headers (lower case, as HTTP/2 and httpx give them back).
H_TIMESTAMP = "greenbank-timestamp"
H_NONCE = "greenbank-nonce"
H_SERIAL = "greenbank-serial"
H_SIGNATURE = "greenbank-signature"
H_SIGNATURE_TYPE = "greenbank-signature-type"
# Request header naming the platform key that sensitive fields were encrypted to.
H_PLATFORM_SERIAL = "greenbank-platform-serial"
IDEMPOTENCY_KEY = "idempotency-key"

CALLBACK_ALGORITHM = "AEAD_SM4_GCM"
_FIELDS = ("partner_id", "nonce_str", "timestamp", "serial_no", "signature")
_PAIR = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*')


def request_message(
    method: str, path_with_query: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    """The bytes a partner signs for a request (``body`` exactly as sent; empty for GET)."""
    head = f"{method.upper()}\n{path_with_query}\n{timestamp}\n{nonce}\n".encode()
    return head + body + b"\n"


def response_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes the bank signs for a response or a callback."""
    return f"{timestamp}\n{nonce}\n".encode() + body + b"\n"


@dataclass(frozen=True)
class Authorization:
    partner_id: str
    nonce_str: str
    timestamp: str
    serial_no: str
    signature: str  # base64 of the DER signature


def format_authorization(auth: Authorization) -> str:
    """``GREENBANK-SM2-WITH-SM3 partner_id="...",nonce_str="...",...``."""
    pairs = ",".join(f'{name}="{getattr(auth, name)}"' for name in _FIELDS)
    return f"{SCHEME} {pairs}"


def parse_authorization(header: str) -> Authorization:
    """The five fields of an Authorization header; ``ValueError`` naming what is wrong."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != SCHEME:
        raise ValueError(f"the scheme must be {SCHEME}")
    found: dict[str, str] = {}
    for part in rest.split(","):
        match = _PAIR.fullmatch(part)
        if match is None:
            raise ValueError(f'cannot read {part.strip()[:40]!r}: expected name="value"')
        name, value = match.groups()
        if name not in _FIELDS or name in found:
            raise ValueError(f"unexpected or repeated field {name!r}")
        found[name] = value
    missing = [name for name in _FIELDS if name not in found]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return Authorization(**found)


def serial_from_digest(sm3_of_spki_der: bytes) -> str:
    """The serial number of a key given SM3 of its DER SubjectPublicKeyInfo."""
    return sm3_of_spki_der.hex()[:40].upper()


def callback_key_from_digest(sm3_of_secret: bytes) -> bytes:
    """The SM4 key of a partner's callbacks: the first 16 bytes of SM3(API secret)."""
    return sm3_of_secret[:16]
