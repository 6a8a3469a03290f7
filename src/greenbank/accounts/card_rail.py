"""The card rail: how money moves between a Class II account and its bound card at another bank.

A top-up *debits* the bound card (a pull), a withdrawal *credits* it (a push). Real rails
(UnionPay quick pay, NetsUnion) accept an instruction, answer later — by a signed asynchronous
notice, or when asked — and may reverse a settled debit afterwards. ``CardRail`` is that shape;
``SandboxCardRail`` is a deterministic stand-in for development and tests (see the README table).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from greenbank.crypto import hmac_sm3, sm3
from greenbank.errors import Conflict, Unauthorized, ValidationFailed


class RailDirection(StrEnum):
    DEBIT = "debit"  # pull from the bound card: a top-up
    CREDIT = "credit"  # push to the bound card: a withdrawal


class RailStatus(StrEnum):
    PENDING = "pending"
    SETTLED = "settled"
    FAILED = "failed"
    REVERSED = "reversed"  # a settled debit taken back by the card's bank


class RailSignatureInvalid(Unauthorized):
    code = "rail_signature_invalid"
    title = "The rail notice is not signed by the rail"


class RailNoticeMalformed(ValidationFailed):
    code = "rail_notice_malformed"
    title = "The rail notice can not be read"


class RailCannotReverse(Conflict):
    code = "rail_cannot_reverse"
    title = "Only a settled card debit can be reversed"


@dataclass(frozen=True)
class RailInstruction:
    """What we ask the rail to do; ``reference`` (our transfer id) is the rail's idempotency key."""

    reference: str
    direction: RailDirection
    card_number: str
    amount_fen: int
    submitted_at: datetime


@dataclass(frozen=True)
class RailNotice:
    """What the rail says about an instruction, synchronously or in a later callback."""

    reference: str
    status: RailStatus
    rail_reference: str
    occurred_at: datetime
    failure_code: str | None = None

    def to_json(self) -> bytes:
        body = {
            "reference": self.reference,
            "status": self.status.value,
            "rail_reference": self.rail_reference,
            "occurred_at": self.occurred_at.isoformat(),
            "failure_code": self.failure_code,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes) -> RailNotice:
        try:
            data = json.loads(body)
            occurred = datetime.fromisoformat(data["occurred_at"])
            if occurred.tzinfo is None:
                raise ValueError("occurred_at needs a time zone")
            return cls(
                reference=str(data["reference"]),
                status=RailStatus(data["status"]),
                rail_reference=str(data["rail_reference"]),
                occurred_at=occurred,
                failure_code=data.get("failure_code"),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise RailNoticeMalformed(f"rail notice can not be read: {err}") from err


class CardRail(Protocol):
    """A provider that moves money to and from cards at other banks."""

    name: str

    def submit(self, instruction: RailInstruction) -> RailNotice:
        """Accept an instruction (``pending``) or refuse it at once (``failed``). Idempotent
        on ``reference``."""
        ...

    def query(self, instruction: RailInstruction, *, now: datetime) -> RailNotice:
        """The instruction's status now (the pull path when a callback is late or lost)."""
        ...

    def verify_callback(self, body: bytes, signature: str) -> RailNotice:
        """The notice in a callback body, or ``RailSignatureInvalid`` if it was not signed by
        the rail."""
        ...


# Deterministic sandbox outcomes, decided by the amount's last two fen digits and the card.
SANDBOX_DECLINE_CENTS = 99  # settles as failed: the card's bank declined
SANDBOX_REFUSE_CENTS = 98  # refused when submitted: the rail is unavailable for it
SANDBOX_BLOCKED_CARD_SUFFIX = "0000"  # every instruction for such a card is refused at submit


class SandboxCardRail:
    """A rail with no network and no state: outcomes follow from the instruction and the time.

    * submit: amount ending in 98 fen or a card ending in 0000 -> ``failed`` at once;
      anything else -> ``pending``.
    * query: ``pending`` until ``submitted_at + latency``; then amounts ending in 99 fen
      ``failed`` (``card_declined``), everything else ``settled``.
    * ``reversal_notice`` produces a ``reversed`` notice for a settled debit, as a card bank
      would after a dispute; ``signed_callback`` signs any notice with HMAC-SM3 so the callback
      endpoint can be exercised without the ability to forge one.
    """

    name = "sandbox"

    def __init__(self, *, secret: bytes, latency: timedelta = timedelta(seconds=2)) -> None:
        if not secret:
            raise ValueError("the sandbox rail needs a callback signing secret")
        if latency < timedelta(0):
            raise ValueError("latency can not be negative")
        self._secret = secret
        self.latency = latency

    def rail_reference(self, reference: str) -> str:
        return "SBX" + sm3(reference.encode()).hex()[:21].upper()

    def _notice(
        self,
        instruction: RailInstruction,
        status: RailStatus,
        at: datetime,
        failure_code: str | None = None,
    ) -> RailNotice:
        return RailNotice(
            reference=instruction.reference,
            status=status,
            rail_reference=self.rail_reference(instruction.reference),
            occurred_at=at,
            failure_code=failure_code,
        )

    def submit(self, instruction: RailInstruction) -> RailNotice:
        at = instruction.submitted_at
        if instruction.card_number.endswith(SANDBOX_BLOCKED_CARD_SUFFIX):
            return self._notice(instruction, RailStatus.FAILED, at, "card_not_supported")
        if instruction.amount_fen % 100 == SANDBOX_REFUSE_CENTS:
            return self._notice(instruction, RailStatus.FAILED, at, "rail_unavailable")
        return self._notice(instruction, RailStatus.PENDING, at)

    def query(self, instruction: RailInstruction, *, now: datetime) -> RailNotice:
        refused = self.submit(instruction)
        if refused.status is RailStatus.FAILED:
            return refused
        due = instruction.submitted_at + self.latency
        if now < due:
            return self._notice(instruction, RailStatus.PENDING, now)
        if instruction.amount_fen % 100 == SANDBOX_DECLINE_CENTS:
            return self._notice(instruction, RailStatus.FAILED, due, "card_declined")
        return self._notice(instruction, RailStatus.SETTLED, due)

    def reversal_notice(self, instruction: RailInstruction, *, now: datetime) -> RailNotice:
        """The card bank takes a settled top-up back (a chargeback / 冲正)."""
        settled = self.query(instruction, now=now)
        if instruction.direction is not RailDirection.DEBIT or settled.status != "settled":
            raise RailCannotReverse(f"instruction {instruction.reference} is not a settled debit")
        return self._notice(instruction, RailStatus.REVERSED, now, "reversed_by_card_bank")

    def sign(self, body: bytes) -> str:
        return hmac_sm3(self._secret, body).hex()

    def signed_callback(self, notice: RailNotice) -> tuple[bytes, str]:
        """The body and ``X-Rail-Signature`` header the sandbox would POST to the callback."""
        body = notice.to_json()
        return body, self.sign(body)

    def verify_callback(self, body: bytes, signature: str) -> RailNotice:
        if not hmac.compare_digest(self.sign(body), signature.strip().lower()):
            raise RailSignatureInvalid("the callback signature does not match")
        return RailNotice.from_json(body)


def sandbox_secret(secret_key: str) -> bytes:
    """The sandbox's callback key, derived from the app's secret so tests and the app agree."""
    return hmac_sm3(secret_key.encode(), b"greenbank.accounts.card_rail.sandbox")
