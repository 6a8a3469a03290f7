"""Issuing the sealed carbon reduction certificate a customer asks for.

A certificate states the figures as of the moment it is issued. Asking again the same business
day (Asia/Shanghai) while the figures are unchanged returns the certificate already issued, so a
double tap or a retry never makes a second one; once a new reduction is credited (or the day
changes) the next request issues a new certificate, and the earlier ones stay valid statements
of their own moment. The figures are read under a shared lock on the carbon account row (every
credit and adjustment takes that row's exclusive lock), rendered and sealed outside any
transaction, and the row is inserted next to a write-once store of the PDF; the UNIQUE
(customer, day, fingerprint) constraint settles two concurrent identical requests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.carbon.card import card_for_customer
from greenbank.carbon.certificate import (
    CertificateData,
    Figures,
    render_certificate,
    seal_certificate,
)
from greenbank.carbon.errors import AccountNotOpen
from greenbank.carbon.models import CarbonAccount, Certificate, Entry
from greenbank.clock import Clock, business_date
from greenbank.crypto import hmac_sm3, sm3
from greenbank.db import UowFactory
from greenbank.receipts.codes import ALPHABET, verification_code
from greenbank.receipts.runtime import ReceiptsRuntime, public_base_url, runtime
from greenbank.receipts.store import FileReceiptStore, ReceiptStore, storage_key

NUMBER_PREFIX = "CR"  # + yyyymmdd + 10 random characters of the code alphabet
_RANDOM_CHARS = 10


@dataclass(frozen=True)
class CertificateRuntime:
    """The receipts' seal wiring (identity, TSA, roots, clock, limits) plus what is ours."""

    seal: ReceiptsRuntime
    store: ReceiptStore
    code_key: bytes
    base_url: str

    @property
    def clock(self) -> Clock:
        return self.seal.clock


def certificate_runtime(container: Container) -> CertificateRuntime:
    settings = container.settings
    return CertificateRuntime(
        seal=runtime(container),
        store=FileReceiptStore(settings.var_dir / "carbon-certificates"),
        code_key=certificate_code_key(settings.secret_key.get_secret_value()),
        base_url=public_base_url(settings),
    )


def certificate_code_key(secret: str) -> bytes:
    """The verification-code key, derived for this one purpose (not the receipts' key)."""
    return hmac_sm3(secret.encode(), b"greenbank/carbon/certificate-code")


def certificate_code(key: bytes, *, certificate_no: str, figures: Figures, on: date) -> str:
    """The receipts' verification code (``codes.verification_code``, HMAC-SM3) over the
    certificate's number, figure and day, with the fingerprint of all its figures in the slot
    a receipt fills with the payee account: the code vouches for every printed figure."""
    return verification_code(
        key,
        receipt_no=certificate_no,
        amount_fen=figures.lifetime_mg,  # the MAC's number field: here the certified figure
        on=on,
        payee_account=figures.fingerprint,
        mac=hmac_sm3,
    )


@dataclass(frozen=True)
class CertificateView:
    """A stored certificate, detached from the session (what the API and checks read)."""

    certificate_no: str
    issued_at: datetime
    verification_code: str
    figures: Figures
    pdf_key: str
    pdf_sm3: str
    pdf_size: int


def view_of(row: Certificate) -> CertificateView:
    return CertificateView(
        certificate_no=row.certificate_no,
        issued_at=row.issued_at,
        verification_code=row.verification_code,
        figures=Figures(
            masked_name=row.masked_name,
            since=row.since,
            lifetime_mg=row.lifetime_mg,
            provisional_mg=row.provisional_mg,
            level=row.level,
            trees=row.trees,
            tree_source=row.tree_source,
            tree_provisional=row.tree_provisional,
            top_scenarios=tuple(row.top_scenarios),
        ),
        pdf_key=row.pdf_key,
        pdf_sm3=row.pdf_sm3,
        pdf_size=row.pdf_size,
    )


@dataclass(frozen=True)
class Issued:
    certificate: CertificateView
    created: bool  # False: the same day's certificate with the same figures was returned


def issue_certificate(uow: UowFactory, crt: CertificateRuntime, *, customer_id: str) -> Issued:
    """The customer's certificate as of now (or today's one with the same figures); raises
    ``carbon_account_not_open`` for a customer without a carbon account."""
    now = crt.clock.now()
    day = business_date(now)
    with uow() as work:
        figures = _read_figures(work.session, customer_id, crt.base_url)
        existing = _same_day(work.session, customer_id, day, figures.fingerprint)
    if existing is not None:
        return Issued(existing, created=False)
    number = new_certificate_no(day)
    code = certificate_code(crt.code_key, certificate_no=number, figures=figures, on=day)
    data = CertificateData(number, now, code, figures)
    pdf = render_certificate(data, bank_name=crt.seal.bank_name, base_url=crt.base_url)
    pdf = seal_certificate(pdf, crt.seal.identity, tsa=crt.seal.tsa)
    row = _row(customer_id, day, data, pdf)
    with uow() as work:
        try:
            with work.session.begin_nested():
                work.session.add(row)
                work.session.flush()
        except IntegrityError:
            # An identical request committed first (PostgreSQL made this insert wait for it):
            # answer with its certificate; this one's PDF was never stored.
            found = _same_day(work.session, customer_id, day, figures.fingerprint)
            if found is None:
                raise
            return Issued(found, created=False)
        crt.store.put(row.pdf_key, pdf)
        work.commit()
        return Issued(view_of(row), created=True)


def new_certificate_no(day: date) -> str:
    """``CR`` + yyyymmdd + 10 random characters: unguessable, and silent about how many exist."""
    tail = "".join(secrets.choice(ALPHABET) for _ in range(_RANDOM_CHARS))
    return f"{NUMBER_PREFIX}{day:%Y%m%d}{tail}"


def _read_figures(session: Session, customer_id: str, base_url: str) -> Figures:
    locked = session.scalar(
        select(CarbonAccount.customer_id)
        .where(CarbonAccount.customer_id == customer_id)
        .with_for_update(read=True)  # a credit in flight finishes first; the next one waits
    )
    if locked is None:
        raise AccountNotOpen("open the carbon account first (POST /api/v1/carbon/account)")
    card = card_for_customer(session, customer_id, base_url)
    provisional = session.scalar(
        select(func.coalesce(func.sum(Entry.co2e_mg), 0)).where(
            Entry.customer_id == customer_id, Entry.provisional.is_(True)
        )
    )
    return Figures(
        masked_name=card.masked_name,
        since=card.since,
        lifetime_mg=card.lifetime_mg,
        provisional_mg=min(max(0, int(provisional or 0)), card.lifetime_mg),
        level=card.level,
        trees=str(card.trees),
        tree_source=card.tree_source,
        tree_provisional=card.tree_provisional,
        top_scenarios=tuple(card.top_scenarios),
    )


def _same_day(
    session: Session, customer_id: str, day: date, fingerprint: str
) -> CertificateView | None:
    row = session.scalars(
        select(Certificate).where(
            Certificate.customer_id == customer_id,
            Certificate.business_date == day,
            Certificate.fingerprint == fingerprint,
        )
    ).first()
    return view_of(row) if row is not None else None


def _row(customer_id: str, day: date, data: CertificateData, pdf: bytes) -> Certificate:
    fig = data.figures
    return Certificate(
        certificate_no=data.certificate_no,
        customer_id=customer_id,
        business_date=day,
        fingerprint=fig.fingerprint,
        issued_at=data.issued_at,
        masked_name=fig.masked_name,
        since=fig.since,
        lifetime_mg=fig.lifetime_mg,
        provisional_mg=fig.provisional_mg,
        level=fig.level,
        trees=fig.trees,
        tree_source=fig.tree_source,
        tree_provisional=fig.tree_provisional,
        top_scenarios=list(fig.top_scenarios),
        verification_code=data.verification_code,
        pdf_key=storage_key(day, data.certificate_no),
        pdf_sm3=sm3(pdf).hex(),
        pdf_size=len(pdf),
    )
