"""Fixtures for the crypto tests: both SM2 backends, and the openssl command line."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from crypto_support import OpenSSL

from greenbank.crypto import CryptoBackendUnavailable, use_backend


@pytest.fixture(params=["openssl", "pure"])
def sm2_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test once per SM2 backend; the default comes back afterwards."""
    try:
        name = use_backend(request.param)
    except CryptoBackendUnavailable as err:
        pytest.skip(f"SM2 backend {request.param} unavailable: {err.detail}")
    try:
        yield name
    finally:
        use_backend(None)


@pytest.fixture
def pure_backend() -> Iterator[str]:
    name = use_backend("pure")
    try:
        yield name
    finally:
        use_backend(None)


@pytest.fixture
def openssl(tmp_path: Path) -> OpenSSL:
    binary = shutil.which("openssl")
    if binary is None:
        pytest.skip("the openssl command line is not installed")
    version = subprocess.run([binary, "version"], capture_output=True, text=True, check=True)
    if not version.stdout.startswith("OpenSSL 3"):
        pytest.skip(f"interop needs OpenSSL 3 (pkeyutl -rawin, distid): {version.stdout.strip()}")
    return OpenSSL(binary, tmp_path)
