"""Helpers shared by the crypto tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from greenbank.crypto import CryptoBackendUnavailable
from greenbank.crypto._libcrypto import OpenSSLBackend


def _libcrypto_has_sm2() -> bool:
    try:
        OpenSSLBackend()
    except CryptoBackendUnavailable:
        return False
    return True


requires_libcrypto = pytest.mark.skipif(
    not _libcrypto_has_sm2(), reason="no OpenSSL >= 3.0 libcrypto with SM2 on this machine"
)


class OpenSSL:
    """The ``openssl`` CLI run in a temporary directory."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.workdir = binary, workdir

    def write(self, name: str, data: bytes) -> str:
        path = self.workdir / name
        path.write_bytes(data)
        return str(path)

    def read(self, name: str) -> bytes:
        return (self.workdir / name).read_bytes()

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [self.binary, *args], cwd=self.workdir, capture_output=True, check=False, timeout=30
        )
