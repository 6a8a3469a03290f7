"""Errors raised by ``greenbank.crypto``.

Every failure maps to one stable ``code`` so the API and CLI can report it without leaking why a
MAC or signature failed in detail (details stay in the message, never in the code).
"""

from __future__ import annotations

from greenbank.errors import GreenbankError


class CryptoError(GreenbankError):
    """Base of every cryptographic failure."""

    code = "crypto_error"
    status = 500
    title = "A cryptographic operation failed"


class CryptoBadKey(CryptoError):
    """A key is malformed, of the wrong type or size, or not on the SM2 curve."""

    code = "crypto_bad_key"
    status = 422
    title = "The key is not valid"


class CryptoBadInput(CryptoError):
    """An argument other than a key is malformed (nonce size, empty plaintext, unknown kind)."""

    code = "crypto_bad_input"
    status = 422
    title = "The input to a cryptographic operation is not valid"


class CryptoDecryptFailed(CryptoError):
    """Authentication or decryption failed: wrong key, tampered data or bad padding."""

    code = "crypto_decrypt_failed"
    status = 400
    title = "The data could not be decrypted"


class CryptoBadSignatureFormat(CryptoError):
    """A signature is not a valid DER SEQUENCE of two INTEGERs or 64-byte r||s."""

    code = "crypto_bad_signature_format"
    status = 400
    title = "The signature is not well formed"


class CryptoBadCiphertextFormat(CryptoError):
    """An SM2 ciphertext is not valid GM/T 0009 DER or C1||C3||C2."""

    code = "crypto_bad_ciphertext_format"
    status = 400
    title = "The ciphertext is not well formed"


class CryptoBackendUnavailable(CryptoError):
    """The requested SM2 backend (or one of its features) is not available here."""

    code = "crypto_backend_unavailable"
    status = 503
    title = "The cryptographic backend is unavailable"


class CryptoSelfTestFailed(CryptoError):
    """A known-answer test failed at start-up: the platform's crypto cannot be trusted."""

    code = "crypto_self_test_failed"
    status = 500
    title = "The cryptographic self-test failed"


class CryptoKeyStoreError(CryptoError):
    """The key store is missing, incomplete, read-only or already initialised."""

    code = "crypto_keystore_error"
    status = 500
    title = "The key store cannot be used"


class CryptoUnknownKeyVersion(CryptoError):
    """A token names a data-key version the key ring does not hold."""

    code = "crypto_unknown_key_version"
    status = 500
    title = "The data key version is unknown"
