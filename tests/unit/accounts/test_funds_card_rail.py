"""The sandbox card rail: deterministic outcomes, latency, reversal and signed callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenbank.accounts.card_rail import (
    RailCannotReverse,
    RailDirection,
    RailInstruction,
    RailNotice,
    RailNoticeMalformed,
    RailSignatureInvalid,
    RailStatus,
    SandboxCardRail,
    sandbox_secret,
)

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
CARD = "6217000010001234567"
RAIL = SandboxCardRail(secret=sandbox_secret("test-secret"), latency=timedelta(seconds=5))


def instruction(amount_fen: int, *, card: str = CARD, direction: str = "debit") -> RailInstruction:
    return RailInstruction(
        reference="tr-1",
        direction=RailDirection(direction),
        card_number=card,
        amount_fen=amount_fen,
        submitted_at=T0,
    )


def test_an_ordinary_amount_is_pending_until_the_latency_has_passed_then_settles() -> None:
    order = instruction(10_000)
    assert RAIL.submit(order).status is RailStatus.PENDING
    assert RAIL.query(order, now=T0 + timedelta(seconds=4)).status is RailStatus.PENDING
    settled = RAIL.query(order, now=T0 + timedelta(seconds=5))
    assert settled.status is RailStatus.SETTLED
    assert settled.occurred_at == T0 + timedelta(seconds=5)
    assert settled.rail_reference == RAIL.rail_reference("tr-1")
    assert settled.rail_reference.startswith("SBX")


def test_amounts_ending_in_99_fen_are_declined_after_the_latency() -> None:
    order = instruction(100_099)  # 1,000.99 CNY
    assert RAIL.submit(order).status is RailStatus.PENDING
    failed = RAIL.query(order, now=T0 + timedelta(minutes=1))
    assert (failed.status, failed.failure_code) == (RailStatus.FAILED, "card_declined")


def test_amounts_ending_in_98_fen_are_refused_when_submitted() -> None:
    refused = RAIL.submit(instruction(5_098, direction="credit"))
    assert (refused.status, refused.failure_code) == (RailStatus.FAILED, "rail_unavailable")
    assert RAIL.query(instruction(5_098), now=T0).status is RailStatus.FAILED


def test_a_card_ending_in_0000_is_refused_whatever_the_amount() -> None:
    refused = RAIL.submit(instruction(10_000, card="6217000010000000"))
    assert (refused.status, refused.failure_code) == (RailStatus.FAILED, "card_not_supported")


def test_zero_latency_settles_at_the_moment_of_submission() -> None:
    rail = SandboxCardRail(secret=b"k", latency=timedelta(0))
    assert rail.query(instruction(1), now=T0).status is RailStatus.SETTLED


def test_only_a_settled_debit_can_be_reversed() -> None:
    later = T0 + timedelta(hours=1)
    reversed_ = RAIL.reversal_notice(instruction(10_000), now=later)
    assert (reversed_.status, reversed_.occurred_at) == (RailStatus.REVERSED, later)
    with pytest.raises(RailCannotReverse):
        RAIL.reversal_notice(instruction(10_000), now=T0)  # not settled yet
    with pytest.raises(RailCannotReverse):
        RAIL.reversal_notice(instruction(10_000, direction="credit"), now=later)
    with pytest.raises(RailCannotReverse):
        RAIL.reversal_notice(instruction(10_099), now=later)  # declined


def test_a_signed_callback_round_trips_and_a_forged_one_is_refused() -> None:
    notice = RAIL.query(instruction(10_000), now=T0 + timedelta(seconds=9))
    body, signature = RAIL.signed_callback(notice)
    assert RAIL.verify_callback(body, signature.upper()) == notice
    forged = body.replace(b"settled", b"failed_")
    with pytest.raises(RailSignatureInvalid):
        RAIL.verify_callback(forged, signature)
    other = SandboxCardRail(secret=sandbox_secret("another-secret"))
    with pytest.raises(RailSignatureInvalid):
        other.verify_callback(body, signature)


def test_a_signed_but_unreadable_body_is_malformed() -> None:
    body = b'{"reference": "x", "status": "lost"}'
    with pytest.raises(RailNoticeMalformed):
        RAIL.verify_callback(body, RAIL.sign(body))


def test_notice_json_keeps_every_field() -> None:
    notice = RailNotice("r", RailStatus.FAILED, "SBX1", T0, "card_declined")
    assert RailNotice.from_json(notice.to_json()) == notice


def test_the_sandbox_refuses_an_empty_secret_and_negative_latency() -> None:
    with pytest.raises(ValueError, match="secret"):
        SandboxCardRail(secret=b"")
    with pytest.raises(ValueError, match="latency"):
        SandboxCardRail(secret=b"k", latency=timedelta(seconds=-1))
