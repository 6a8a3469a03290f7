"""The start-up self-test passes on both backends and fails loudly when a check breaks."""

from __future__ import annotations

import pytest

from greenbank.crypto import CryptoDecryptFailed, CryptoSelfTestFailed, self_test, selftest


def test_self_test_passes(sm2_backend: str) -> None:
    self_test()


def test_a_wrong_answer_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "SM3_ABC", "00" * 32)
    with pytest.raises(CryptoSelfTestFailed, match="sm3/sm4"):
        self_test()


def test_a_crypto_error_inside_a_check_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> bool:
        raise CryptoDecryptFailed("simulated")

    monkeypatch.setitem(selftest.CHECKS, "sm2 annex A", broken)
    with pytest.raises(CryptoSelfTestFailed, match="crypto_decrypt_failed"):
        self_test()
