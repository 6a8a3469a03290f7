"""Changing the bound card over HTTP: five elements for the new card, the SMS code, the swap —
and every refusal (credit card, someone else's card, wrong mobile, wrong code, money in flight).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.e2e.test_account_opening_http import applicant, bearer, read_code
from tests.integration.accounts.funds_support import CARD, open_account

from greenbank.accounts.models import BoundCard, CardStatus
from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock

ME = "/api/v1/accounts/me"
PHONE = "13812345678"
NEW_CARD = "6222020200112233445"  # ICBC debit, nobody's in the sandbox
ID_NUMBER = "44010619880808123X"  # not a sandbox person: the card bank answers OK


class Holder:
    """A customer with an open account bound to ``CARD``, signed in over HTTP."""

    def __init__(self, client: TestClient, clock: FixedClock, container: Container) -> None:
        self.client, self.clock = client, clock
        _, self.account_id = open_account(container, phone=PHONE, id_number=ID_NUMBER)
        assert client.post("/api/v1/auth/otp", json={"phone": PHONE}).status_code == 200
        code = read_code(client, PHONE)
        token = client.post("/api/v1/auth/token", json={"phone": PHONE, "code": code})
        self.headers = bearer(token.json()["access_token"])

    def code(self, card: str = NEW_CARD, mobile: str = PHONE) -> Any:
        self.clock.advance(timedelta(seconds=61))  # the SMS resend cooldown
        body = {"card_number": card, "bank_mobile": mobile}
        return self.client.post(f"{ME}/bound-card/code", json=body, headers=self.headers)

    def change(self, code: str | None = None, card: str = NEW_CARD, **headers: str) -> Any:
        body = {
            "card_number": card,
            "bank_mobile": PHONE,
            "code": code or read_code(self.client, PHONE),
        }
        merged = {**self.headers, **headers}
        return self.client.post(f"{ME}/bound-card", json=body, headers=merged)

    def top_up(self, key: str, card: str | None = None) -> Any:
        body: dict[str, Any] = {"amount_fen": 10_000}
        if card:
            body["card_number"] = card
        headers = {**self.headers, "Idempotency-Key": key}
        return self.client.post(f"{ME}/top-ups", json=body, headers=headers)


@pytest.fixture
def holder(client: TestClient, clock: FixedClock, container: Container) -> Holder:
    return Holder(client, clock, container)


def _actions(container: Container) -> list[tuple[str, str]]:
    with container.uow() as uow:
        rows = uow.session.scalars(select(AuditLine).order_by(AuditLine.at)).all()
        return [(r.action, r.outcome) for r in rows if "card" in r.action]


def test_change_the_bound_card(holder: Holder, container: Container) -> None:
    sent = holder.code()
    assert sent.status_code == 200, sent.text
    assert sent.json()["phone_masked"] == "138****5678"
    changed = holder.change(**{"Idempotency-Key": "card-1"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["masked_number"] == "6222 02** **** ***3 445"
    assert changed.json()["bank_name"] == "中国工商银行"
    replay = holder.change(code="000000", **{"Idempotency-Key": "card-1"})
    assert replay.status_code == 409  # another body under the same key: not replayed
    assert replay.json()["code"] == "idempotency_key_reused"

    overview = holder.client.get(ME, headers=holder.headers).json()
    assert overview["bound_card_masked"] == "6222 02** **** ***3 445"
    old = holder.top_up("t-old", card=CARD)
    assert (old.status_code, old.json()["code"]) == (403, "not_bound_card")
    assert holder.top_up("t-new", card=NEW_CARD).status_code == 202
    with container.uow() as uow:
        cards = uow.session.scalars(
            select(BoundCard).where(BoundCard.account_id == holder.account_id)
        ).all()
        assert sorted(c.status for c in cards) == sorted(
            [CardStatus.ACTIVE.value, CardStatus.REPLACED.value]
        )
    actions = _actions(container)
    assert ("accounts.card_change.code_requested", "ok") in actions
    assert ("accounts.bound_card_replaced", "ok") in actions


def test_the_code_is_used_once(holder: Holder) -> None:
    holder.code()
    code = read_code(holder.client, PHONE)
    assert holder.change(code=code).status_code == 200
    again = holder.change(code=code)
    assert again.status_code == 400, again.text


@pytest.mark.parametrize(
    ("card", "status", "code"),
    [
        ("6222300000000003", 422, "credit_card_not_allowed"),  # zhao_liu's credit card
        ("6222020000000000018", 422, "card_not_owned"),  # zhang_san's card
    ],
)
def test_refused_cards(
    holder: Holder, container: Container, card: str, status: int, code: str
) -> None:
    refused = holder.code(card=card)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert ("accounts.card_change.code_requested", code) in _actions(container)
    with container.uow() as uow:
        bound = uow.session.scalars(
            select(BoundCard).where(BoundCard.status == CardStatus.ACTIVE.value)
        ).one()
        assert bound.card_number == CARD


def test_wrong_mobile(client: TestClient, clock: FixedClock) -> None:
    me = applicant(client, clock, "wang_xiaoming")
    me.through_card()
    assert me.post("/submit", headers={"Idempotency-Key": "s"}).json()["state"] == "opened"
    clock.advance(timedelta(seconds=61))
    body = {"card_number": me.person.card_number, "bank_mobile": "13900000000"}
    refused = client.post(f"{ME}/bound-card/code", json=body, headers=me.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "bank_mobile_mismatch")


def test_wrong_code_and_other_card(holder: Holder, container: Container) -> None:
    never = holder.change(code="123456")
    assert (never.status_code, never.json()["code"]) == (409, "card_code_not_requested")
    holder.code()
    real = read_code(holder.client, PHONE)
    wrong = holder.change(code="000000" if real != "000000" else "111111")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "otp_invalid")
    other = holder.change(code=real, card="6217000010001234577")
    assert (other.status_code, other.json()["code"]) == (409, "card_elements_changed")
    assert ("accounts.card_change.changed", "otp_invalid") in _actions(container)
    assert holder.change(code=real).status_code == 200


def test_refused_while_a_top_up_is_with_the_rail(holder: Holder) -> None:
    assert holder.top_up("t1").status_code == 202
    refused = holder.code()
    assert (refused.status_code, refused.json()["code"]) == (409, "transfers_in_flight")
