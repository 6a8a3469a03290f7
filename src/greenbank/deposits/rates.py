"""Posted rates: each product's own series and the bank-wide demand series, by effective day.

A posting is never changed: a later one supersedes it from its own day, so the rate of any past
day can still be looked up and holdings keep the rate of their value date. These helpers run in
the caller's transaction; the audited staff actions that post rates are in ``catalogue``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.deposits.domain import DuplicateRatePosting, RateHistory, check_rate
from greenbank.deposits.models import DEMAND_SERIES, RateKind, RatePosting
from greenbank.errors import ValidationFailed


class RateBackdated(ValidationFailed):
    code = "rate_backdated"
    title = "A rate takes effect today or later; past days keep the rates posted for them"


_POSTINGS = (  # built once: every purchase and trial reads a rate
    select(RatePosting)
    .where(RatePosting.series.in_(bindparam("series", expanding=True)))
    .order_by(RatePosting.effective_from)
)


def _postings(session: Session, series: Iterable[str]) -> list[RatePosting]:
    return list(session.scalars(_POSTINGS, {"series": list(series)}))


def _history(postings: Iterable[RatePosting]) -> RateHistory:
    return RateHistory((p.effective_from, p.rate) for p in postings)


def product_rates(session: Session, product_id: str) -> RateHistory:
    """The product's posted rates: ``product_rates(s, pid)(day)`` is the rate in force on day."""
    return _history(_postings(session, [product_id]))


def product_rate_histories(session: Session, product_ids: list[str]) -> dict[str, RateHistory]:
    """Several products' rates in one query (listing the catalogue)."""
    postings = _postings(session, product_ids)
    return {pid: _history(p for p in postings if p.series == pid) for pid in product_ids}


def demand_postings(session: Session) -> list[RatePosting]:
    """Every demand-rate posting, oldest first."""
    return _postings(session, [DEMAND_SERIES])


def demand_rates(session: Session) -> RateHistory:
    """The bank's demand rate by day (early withdrawals, days after maturity)."""
    return _history(demand_postings(session))


def post_rate(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    product_id: str | None,
    rate: Decimal,
    effective_from: date | None,
) -> RatePosting:
    """Post ``rate`` for a product (or, with ``product_id=None``, the demand rate) from
    ``effective_from`` (default today, never a past day). The same rate for the same day again
    is a no-op; a different one is a DuplicateRatePosting."""
    check_rate(rate)
    today = business_date(clock.now())
    day = effective_from or today
    if day < today:
        raise RateBackdated(
            f"{day} is before today ({today})",
            effective_from=day.isoformat(),
            today=today.isoformat(),
        )
    series = product_id or DEMAND_SERIES
    existing = session.scalar(
        select(RatePosting).where(RatePosting.series == series, RatePosting.effective_from == day)
    )
    if existing is not None:
        if existing.rate != rate:
            raise DuplicateRatePosting(effective_from=day.isoformat(), posted=str(existing.rate))
        return existing
    posting = RatePosting(
        series=series,
        kind=RateKind.PRODUCT if product_id else RateKind.DEMAND,
        product_id=product_id,
        rate=rate,
        effective_from=day,
        posted_at=clock.now(),
        posted_by=actor,
    )
    session.add(posting)
    try:
        session.flush()
    except IntegrityError as err:
        raise DuplicateRatePosting(effective_from=day.isoformat()) from err
    return posting
