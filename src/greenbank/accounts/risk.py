"""Anti-fraud decision at the end of an application: approve, send to a person, or refuse.

:func:`assess` is pure (worked examples in the unit tests); the functions below it read and
record the facts (velocity, blacklist) in the database. Rules, most serious first
(docs/domain-rules.md, 银发〔2019〕85号):

=====================================  ===========  ===============================
fact                                   outcome      code / reason
=====================================  ===========  ===============================
ID, card, phone, device or IP listed   refuse       ``blacklisted``
age outside the product's limits       refuse       ``age_not_allowed``
region policy says refuse              refuse       ``region_not_served``
ID number applied too often            refuse       ``velocity_exceeded``
region policy says review              review       its reasons (signals in region)
many applications from one device      review       ``device_velocity``
many applications from one IP          review       ``ip_velocity``
no device fingerprint sent             review       ``device_unknown``
card BIN unknown (review policy)       review       ``card_bin_unknown``
otherwise                              approve
=====================================  ===========  ===============================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.accounts.models import BlacklistEntry, RiskSubject, VelocityRecord
from greenbank.customers.region import Outcome, RegionDecision


@dataclass(frozen=True)
class VelocityLimits:
    """How many applications one device / IP (per ``short_window``) or one ID number (per
    ``long_window``) may make; the application being assessed counts too."""

    per_device: int = 3
    per_ip: int = 20
    per_id_number: int = 3
    short_window: timedelta = timedelta(hours=24)
    long_window: timedelta = timedelta(days=30)


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    REFUSE = "refuse"


@dataclass(frozen=True)
class RiskFacts:
    age: int
    region: RegionDecision
    blacklisted: tuple[str, ...] = ()  # kinds of subject found on the blacklist
    device_count: int = 1
    ip_count: int = 1
    id_number_count: int = 1
    device_known: bool = True
    card_needs_review: bool = False


@dataclass(frozen=True)
class RiskDecision:
    decision: Decision
    reasons: tuple[str, ...]
    refusal_code: str | None = None


def assess(
    facts: RiskFacts, limits: VelocityLimits, *, min_age: int, max_age: int | None
) -> RiskDecision:
    """Apply the table in the module docstring; the first refusal wins, reviews accumulate."""
    refusals = []
    if facts.blacklisted:
        refusals.append(("blacklisted", tuple(f"blacklisted_{k}" for k in facts.blacklisted)))
    if facts.age < min_age or (max_age is not None and facts.age > max_age):
        refusals.append(("age_not_allowed", ("age_not_allowed",)))
    if facts.region.outcome is Outcome.REFUSE:
        refusals.append(("region_not_served", facts.region.reasons))
    if facts.id_number_count > limits.per_id_number:
        refusals.append(("velocity_exceeded", ("id_number_velocity",)))
    if refusals:
        code, reasons = refusals[0]
        return RiskDecision(Decision.REFUSE, reasons, refusal_code=code)
    reviews: list[str] = []
    if facts.region.outcome is Outcome.REVIEW:
        reviews.extend(facts.region.reasons)
    if facts.device_count > limits.per_device:
        reviews.append("device_velocity")
    if facts.ip_count > limits.per_ip:
        reviews.append("ip_velocity")
    if not facts.device_known:
        reviews.append("device_unknown")
    if facts.card_needs_review:
        reviews.append("card_bin_unknown")
    if reviews:
        return RiskDecision(Decision.REVIEW, tuple(reviews))
    return RiskDecision(Decision.APPROVE, ("all_checks_passed",))


# --- facts from the database -------------------------------------------------------------------


def record_velocity(
    session: Session, *, application_id: str, subject: RiskSubject, key: str | None, at: datetime
) -> None:
    """Count this application once against a device / IP / ID number (a hash, never PII)."""
    if key is None:
        return
    session.add(VelocityRecord(application_id=application_id, subject=subject, key=key, at=at))


def velocity_count(
    session: Session, *, subject: RiskSubject, key: str | None, since: datetime
) -> int:
    if key is None:
        return 0
    query = select(func.count()).where(
        VelocityRecord.subject == subject, VelocityRecord.key == key, VelocityRecord.at >= since
    )
    return int(session.scalar(query) or 0)


def blacklisted(session: Session, keys: Mapping[str, str | None]) -> tuple[str, ...]:
    """The kinds (``id_number``, ``card``, ...) whose key is on the blacklist."""
    wanted = {kind: key for kind, key in keys.items() if key}
    if not wanted:
        return ()
    rows = session.execute(
        select(BlacklistEntry.kind, BlacklistEntry.key).where(
            BlacklistEntry.key.in_(wanted.values())
        )
    )
    return tuple(sorted({kind for kind, key in rows if wanted.get(kind) == key}))
