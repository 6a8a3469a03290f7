"""``receipt_seal_algorithm=sm2-sm3`` end to end: the sealing consumer seals with SM2, the public
upload check gives the same reasons as for ECDSA seals, and switching back keeps them valid."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select
from tests.integration.receipts.conftest import BANK, IssueFn
from tests.unit.receipts.test_receipt_seal_verify import _paint_new_amount

from greenbank.bootstrap import Container
from greenbank.config import Environment, Settings
from greenbank.crypto import SM2PrivateKey
from greenbank.errors import ConfigurationError
from greenbank.receipts.models import Receipt
from greenbank.receipts.pki import init_pki
from greenbank.receipts.render import render_receipt
from greenbank.receipts.runtime import ReceiptsRuntime
from greenbank.receipts.sealing import receipt_data
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.sm2_pki import SealAlgorithm, create_sm2_root, issue_sm2_seal
from greenbank.receipts.verification import stored_pdf, verify_upload

IP = "203.0.113.9"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=db_url,
        var_dir=tmp_path / "var",
        receipt_seal_algorithm="sm2-sm3",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def sealed(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> bytes:
    receipt = issue()
    dispatch()
    with container.uow() as uow:
        return stored_pdf(rt, uow.session.get_one(Receipt, receipt.id))


def _digest_oid(pdf: bytes) -> str:
    info = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0].signer_info
    return str(info["digest_algorithm"]["algorithm"].dotted)


def _changed_byte(pdf: bytes) -> bytes:
    return pdf.replace(b"greenbank receipts", b"greenbank receiptz", 1)


def _resealed_by_another_sm2_ca(container: Container) -> bytes:
    with container.uow() as uow:
        data = receipt_data(uow.session.scalars(select(Receipt)).one())
    rendered = render_receipt(data, bank_name=BANK, verify_url="https://x/verify")
    return seal_pdf(rendered, issue_sm2_seal(create_sm2_root(BANK), BANK))


def test_the_consumer_seals_with_sm2(sealed: bytes, rt: ReceiptsRuntime) -> None:
    assert rt.seal_algorithm is SealAlgorithm.SM2_SM3
    assert isinstance(rt.identity.key, SM2PrivateKey)
    assert (rt.pki_dir / "sm2" / "seal.pem").exists()  # created beside the copied ECDSA PKI
    assert _digest_oid(sealed) == "1.2.156.10197.1.401"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda pdf, _: pdf, "ok"),
        (lambda pdf, _: _changed_byte(pdf), "bytes_changed"),
        (lambda pdf, _: _paint_new_amount(pdf), "modified_after_signing"),
        (lambda _, container: _resealed_by_another_sm2_ca(container), "unknown_signer"),
    ],
)
def test_uploads_of_sm2_sealed_receipts(
    sealed: bytes,
    container: Container,
    rt: ReceiptsRuntime,
    tamper: Callable[[bytes, Container], bytes],
    reason: str,
) -> None:
    check = verify_upload(container.uow, rt, pdf=tamper(sealed, container), client_ip=IP)
    assert (check.valid, check.result.reason.value) == (reason == "ok", reason)
    if reason == "ok":
        assert check.matches_stored and check.result.timestamped


def test_switching_back_to_ecdsa_keeps_sm2_receipts_valid(
    sealed: bytes, container: Container, rt: ReceiptsRuntime
) -> None:
    ecdsa = ReceiptsRuntime.from_settings(
        container.settings.model_copy(update={"receipt_seal_algorithm": "ecdsa-p256"})
    )
    assert not isinstance(ecdsa.identity.key, SM2PrivateKey)
    check = verify_upload(container.uow, ecdsa, pdf=sealed, client_ip=IP)
    assert check.valid and check.result.reason.value == "ok"


def test_production_refuses_a_missing_sm2_hierarchy(tmp_path: Path) -> None:
    init_pki(tmp_path / "pki", BANK)  # the ECDSA hierarchy alone is not enough to seal with SM2
    production = ReceiptsRuntime.from_settings(
        Settings(
            environment=Environment.PRODUCTION,
            var_dir=tmp_path,
            secret_key=SecretStr("a-production-secret-of-some-length"),
            receipt_seal_algorithm="sm2-sm3",
            _env_file=None,  # type: ignore[call-arg]
        )
    )
    with pytest.raises(ConfigurationError, match="sm2-sm3"):
        _ = production.identity
    assert not (tmp_path / "pki" / "sm2").exists()
