"""National cryptography for greenbank: SM2, SM3, SM4, envelope encryption and masking.

Imports nothing from other greenbank domains (only ``greenbank.errors``). See README.md.
"""

from greenbank.crypto.errors import (
    CryptoBackendUnavailable,
    CryptoBadCiphertextFormat,
    CryptoBadInput,
    CryptoBadKey,
    CryptoBadSignatureFormat,
    CryptoDecryptFailed,
    CryptoError,
    CryptoKeyStoreError,
    CryptoSelfTestFailed,
    CryptoUnknownKeyVersion,
)
from greenbank.crypto.formats import (
    ciphertext_c1c3c2_to_der,
    ciphertext_der_to_c1c3c2,
    signature_der_to_raw,
    signature_raw_to_der,
)
from greenbank.crypto.keyring import BlindIndexKind, KeyRing
from greenbank.crypto.keystore import EnvKeyStore, FileKeyStore, KeyStore, export_env, init_keys
from greenbank.crypto.masking import mask_card, mask_id_number, mask_name, mask_phone
from greenbank.crypto.selftest import self_test
from greenbank.crypto.sm2 import DEFAULT_UID, SM2PrivateKey, SM2PublicKey, backend_name, use_backend
from greenbank.crypto.symmetric import (
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

__all__ = [
    "DEFAULT_UID",
    "BlindIndexKind",
    "CryptoBackendUnavailable",
    "CryptoBadCiphertextFormat",
    "CryptoBadInput",
    "CryptoBadKey",
    "CryptoBadSignatureFormat",
    "CryptoDecryptFailed",
    "CryptoError",
    "CryptoKeyStoreError",
    "CryptoSelfTestFailed",
    "CryptoUnknownKeyVersion",
    "EnvKeyStore",
    "FileKeyStore",
    "KeyRing",
    "KeyStore",
    "SM2PrivateKey",
    "SM2PublicKey",
    "Sm4GcmKey",
    "backend_name",
    "ciphertext_c1c3c2_to_der",
    "ciphertext_der_to_c1c3c2",
    "export_env",
    "hmac_sm3",
    "init_keys",
    "mask_card",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "self_test",
    "signature_der_to_raw",
    "signature_raw_to_der",
    "sm3",
    "sm4_cbc_decrypt",
    "sm4_cbc_encrypt",
    "sm4_ctr_decrypt",
    "sm4_ctr_encrypt",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
    "use_backend",
]
