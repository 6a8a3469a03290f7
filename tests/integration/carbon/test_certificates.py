"""Issuing and verifying carbon reduction certificates against the database: one certificate per
day and set of figures (repeats and racing requests get it back), write-once storage with SM3,
public checks by code and by upload, and the rate limit."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from carbon_db_support import event, open_with
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.certificate_checks import Outcome, stored_pdf, verify_code, verify_upload
from greenbank.carbon.certificates import (
    CertificateRuntime,
    Issued,
    certificate_runtime,
    issue_certificate,
)
from greenbank.carbon.errors import (
    AccountNotOpen,
    CertificateNotVerified,
    CertificateStoreDamaged,
)
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.models import Certificate, CertificateCheck
from greenbank.clock import FixedClock
from greenbank.crypto import sm3
from greenbank.receipts.verification import VerificationRateLimited
from greenbank.receipts.verify import Reason

IP = "203.0.113.7"


@pytest.fixture
def crt(carbon: Container) -> CertificateRuntime:
    return certificate_runtime(carbon)


def _credit(container: Container, key: str) -> None:
    ingest_events(
        container.uow,
        container.clock,
        [event(key, "c1", "online_deposit", container.clock.now())],
    )


def _issue(container: Container, crt: CertificateRuntime) -> Issued:
    return issue_certificate(container.uow, crt, customer_id="c1")


def _count(container: Container) -> int:
    with container.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Certificate)) or 0)


def test_a_certificate_per_day_and_figures(carbon: Container, crt: CertificateRuntime) -> None:
    clock = carbon.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime(2026, 3, 1, 17, 0, tzinfo=UTC))  # 01:00 on 2 March in Beijing
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _credit(carbon, "d1")
    first = _issue(carbon, crt)
    assert first.created
    figures = first.certificate.figures
    assert (figures.lifetime_mg, figures.provisional_mg, figures.level) == (89_000, 89_000, "绿芽")
    assert figures.since == date(2026, 3, 2)  # the account's Shanghai opening day
    assert (figures.masked_name, figures.top_scenarios) == (
        "绿色用户",
        ("线上存款（替代柜台办理）",),
    )
    stored = crt.store.get(first.certificate.pdf_key)
    assert stored is not None and sm3(stored).hex() == first.certificate.pdf_sm3

    clock.advance(timedelta(minutes=10))
    again = _issue(carbon, crt)  # nothing changed: the same certificate, not a new one
    assert not again.created and again.certificate == first.certificate

    _credit(carbon, "d2")
    newer = _issue(carbon, crt)  # a new credit: a new certificate as of now
    assert newer.created and newer.certificate.certificate_no != first.certificate.certificate_no
    assert newer.certificate.figures.lifetime_mg == 178_000
    assert newer.certificate.issued_at == clock.now()

    clock.advance(timedelta(days=1))
    next_day = _issue(carbon, crt)  # same figures, another day: a certificate of that day
    assert next_day.created and next_day.certificate.figures == newer.certificate.figures
    assert _count(carbon) == 3
    # Earlier certificates stay verifiable as statements of their own moment.
    old = verify_code(
        carbon.uow,
        crt,
        certificate_no=first.certificate.certificate_no,
        code=first.certificate.verification_code,
        client_ip=IP,
    )
    assert old.figures.lifetime_mg == 89_000


def test_racing_identical_requests_get_one_certificate(
    carbon: Container, crt: CertificateRuntime
) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _credit(carbon, "d1")
    results: list[Issued] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        try:
            results.append(_issue(carbon, crt))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len({r.certificate.certificate_no for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _count(carbon) == 1


def test_no_certificate_without_a_carbon_account(
    carbon: Container, crt: CertificateRuntime
) -> None:
    with pytest.raises(AccountNotOpen):
        _issue(carbon, crt)
    assert _count(carbon) == 0


def test_verification_by_code_and_its_refusals(carbon: Container, crt: CertificateRuntime) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _credit(carbon, "d1")
    issued = _issue(carbon, crt).certificate
    code = issued.verification_code
    typed = f"{code[:5].lower()}-{code[5:]}"  # as a person types it off the page
    found = verify_code(
        carbon.uow, crt, certificate_no=issued.certificate_no.lower(), code=typed, client_ip=IP
    )
    assert found == issued
    assert stored_pdf(crt, found) == crt.store.get(issued.pdf_key)
    for number, wrong in [(issued.certificate_no, "ZZZZZZZZZZ"), ("CR20260302AAAAAAAAAA", code)]:
        with pytest.raises(CertificateNotVerified):
            verify_code(carbon.uow, crt, certificate_no=number, code=wrong, client_ip=IP)
    with carbon.uow() as uow:
        outcomes = uow.session.scalars(select(CertificateCheck.outcome)).all()
    assert sorted(outcomes) == ["not_verified", "not_verified", "ok"]


def test_a_damaged_stored_file_is_refused(carbon: Container, crt: CertificateRuntime) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _credit(carbon, "d1")
    issued = _issue(carbon, crt).certificate
    path = carbon.settings.var_dir / "carbon-certificates" / issued.pdf_key
    path.write_bytes(path.read_bytes().replace(b"greenbank carbon", b"greenbank carbom", 1))
    with pytest.raises(CertificateStoreDamaged):
        stored_pdf(crt, issued)


def test_upload_reports_intact_or_what_is_wrong(carbon: Container, crt: CertificateRuntime) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _credit(carbon, "d1")
    issued = _issue(carbon, crt).certificate
    original = stored_pdf(crt, issued)

    check = verify_upload(carbon.uow, crt, pdf=original, client_ip=IP)
    assert (check.valid, check.outcome) == (True, "ok")
    assert check.certificate == issued

    tampered = original.replace(b"greenbank carbon", b"greenbank carbom", 1)
    check = verify_upload(carbon.uow, crt, pdf=tampered, client_ip=IP)
    assert (check.valid, check.outcome) == (False, Reason.BYTES_CHANGED.value)

    # Intact and sealed by us, but not the file we stored (sealed again: other bytes).
    with carbon.uow() as uow:
        uow.session.execute(
            Certificate.__table__.update().values(pdf_sm3="0" * 64)  # type: ignore[attr-defined]
        )
        uow.commit()
    check = verify_upload(carbon.uow, crt, pdf=original, client_ip=IP)
    assert (check.valid, check.outcome) == (False, Outcome.NOT_STORED_COPY)

    with carbon.uow() as uow:
        uow.session.execute(Certificate.__table__.delete())  # type: ignore[attr-defined]
        uow.commit()
    check = verify_upload(carbon.uow, crt, pdf=original, client_ip=IP)
    assert (check.valid, check.outcome) == (False, Outcome.UNKNOWN_CERTIFICATE)

    check = verify_upload(carbon.uow, crt, pdf=b"%PDF-1.7 nothing", client_ip=IP)
    assert check.outcome == Reason.TRUNCATED.value


def test_public_checks_are_rate_limited_per_client(
    carbon: Container, crt: CertificateRuntime
) -> None:
    limit = crt.seal.verify_limit_per_minute
    for _ in range(limit):
        with pytest.raises(CertificateNotVerified):
            verify_code(carbon.uow, crt, certificate_no="CRX1", code="ZZZZZZZZZZ", client_ip=IP)
    with pytest.raises(VerificationRateLimited) as refused:
        verify_code(carbon.uow, crt, certificate_no="CRX1", code="ZZZZZZZZZZ", client_ip=IP)
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    with pytest.raises(VerificationRateLimited):
        verify_upload(carbon.uow, crt, pdf=b"%PDF-", client_ip=IP)
    with pytest.raises(CertificateNotVerified):  # another client is not affected
        verify_code(carbon.uow, crt, certificate_no="CRX1", code="ZZZZZZZZZZ", client_ip="x")
    clock = carbon.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(CertificateNotVerified):  # the window slid past the attempts
        verify_code(carbon.uow, crt, certificate_no="CRX1", code="ZZZZZZZZZZ", client_ip=IP)
