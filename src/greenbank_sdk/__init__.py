"""Python SDK for the greenbank open API (AaaS): signed requests, verified answers, encrypted
sensitive fields and decrypted callbacks. See docs/partners.md.

Dependencies: ``httpx`` and ``cryptography`` (SM3, SM4-GCM), plus an SM2 implementation: by
default ``greenbank.crypto`` from the same distribution, or any object with ``sign(message)``.
"""

from greenbank_sdk.client import ApiError, GreenbankClient, key_serial, open_callback, verify_signed
from greenbank_sdk.protocol import SCHEME, UID, request_message, response_message
from greenbank_sdk.sm import PublicKey, SDKError, Signer, load_private_key, load_public_key

__all__ = [
    "SCHEME",
    "UID",
    "ApiError",
    "GreenbankClient",
    "PublicKey",
    "SDKError",
    "Signer",
    "key_serial",
    "load_private_key",
    "load_public_key",
    "open_callback",
    "request_message",
    "response_message",
    "verify_signed",
]
