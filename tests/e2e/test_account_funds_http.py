"""The closed loop over HTTP: an account opened through the onboarding API, top-ups and a
withdrawal settled by signed sandbox-rail callbacks, staff search / freeze / AML, and closing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.test_account_opening_http import Applicant, applicant, bearer

from greenbank.accounts.card_rail import RailNotice, SandboxCardRail, sandbox_secret
from greenbank.accounts.funds_models import FundTransfer
from greenbank.accounts.settlement import instruction_for
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.identity import service, staff
from greenbank.ledger import service as ledger

ME = "/api/v1/accounts/me"
CALLBACK = "/api/v1/rails/sandbox/callback"
PASSWORD = "correct horse battery staple"
CARD = "6217270000000000015"  # wang_xiaoming's card in the onboarding sandbox


@pytest.fixture
def customer(client: TestClient, clock: FixedClock) -> Applicant:
    me = applicant(client, clock, "wang_xiaoming")
    me.through_card()
    opened = me.post("/submit", headers={"Idempotency-Key": "submit-1"})
    assert opened.json()["state"] == "opened", opened.text
    return me


def _rail(container: Container) -> SandboxCardRail:
    return SandboxCardRail(secret=sandbox_secret(container.settings.secret_key.get_secret_value()))


def _notice(container: Container, transfer_id: str) -> RailNotice:
    """What the card's bank reports once the sandbox latency has passed."""
    assert isinstance(container.clock, FixedClock)
    container.clock.advance(timedelta(seconds=3))
    with container.uow() as uow:
        instruction = instruction_for(uow.session, uow.session.get_one(FundTransfer, transfer_id))
    return _rail(container).query(instruction, now=container.clock.now())


def _callback(client: TestClient, container: Container, transfer_id: str) -> Any:
    body, signature = _rail(container).signed_callback(_notice(container, transfer_id))
    response = client.post(CALLBACK, content=body, headers={"X-Rail-Signature": signature})
    assert response.status_code == 200, response.text
    return response.json()


def _move(me: Applicant, path: str, amount_fen: int, key: str, **extra: Any) -> Any:
    headers = {**me.headers, "Idempotency-Key": key}
    return me.client.post(f"{ME}/{path}", json={"amount_fen": amount_fen, **extra}, headers=headers)


def test_top_up_and_withdraw_through_the_rail(
    client: TestClient, container: Container, customer: Applicant
) -> None:
    account = client.get(ME, headers=customer.headers).json()
    assert (account["status"], account["balance_fen"]) == ("active", 0)
    assert account["bound_card_masked"] == "6217 27** **** ***0 015"
    assert CARD not in client.get(ME, headers=customer.headers).text

    no_key = client.post(f"{ME}/top-ups", json={"amount_fen": 100}, headers=customer.headers)
    assert no_key.status_code == 422
    started = _move(customer, "top-ups", 50_000, "t1")
    assert started.status_code == 202, started.text
    first = started.json()
    assert (first["status"], first["replayed"]) == ("processing", False)
    again = _move(customer, "top-ups", 50_000, "t1").json()
    assert (again["id"], again["replayed"]) == (first["id"], True)
    other = _move(customer, "top-ups", 50_000, "t2", card_number="6222020200112233445")
    assert (other.status_code, other.json()["code"]) == (403, "not_bound_card")

    body, signature = _rail(container).signed_callback(_notice(container, first["id"]))
    forged = client.post(CALLBACK, content=body, headers={"X-Rail-Signature": "00" * 32})
    assert (forged.status_code, forged.json()["code"]) == (401, "rail_signature_invalid")
    settled = client.post(CALLBACK, content=body, headers={"X-Rail-Signature": signature})
    assert settled.json()["status"] == "settled"
    assert client.get(ME, headers=customer.headers).json()["balance_fen"] == 50_000

    out = _move(customer, "withdrawals", 20_000, "w1").json()
    shown = client.get(ME, headers=customer.headers).json()
    assert (shown["balance_fen"], shown["available_fen"]) == (50_000, 30_000)
    too_much = _move(customer, "withdrawals", 30_001, "w2")
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_funds")
    assert _callback(client, container, out["id"])["status"] == "settled"

    history = client.get(f"{ME}/history", headers=customer.headers).json()
    assert [(x["type"], x["amount_fen"]) for x in history["lines"]] == [
        ("withdrawal", -20_000),
        ("top_up", 50_000),
    ]
    only = client.get(f"{ME}/history", params={"type": "top_up"}, headers=customer.headers)
    assert [x["amount_fen"] for x in only.json()["lines"]] == [50_000]
    listed = client.get(f"{ME}/transfers", params={"kind": "withdrawal"}, headers=customer.headers)
    assert [t["id"] for t in listed.json()["items"]] == [out["id"]]
    _assert_ledger_clean(container)


def _staff_token(client: TestClient, container: Container, username: str, role: str) -> str:
    staff.create(
        container.uow,
        container.clock,
        service.staff_policy(container),
        username=username,
        display_name=username,
        password=PASSWORD,
        roles=[role],
        actor="test",
    )
    response = client.post(
        "/api/v1/staff/auth/token", json={"username": username, "password": PASSWORD}
    )
    token: str = response.json()["access_token"]
    return token


def test_staff_find_freeze_and_report(
    client: TestClient, container: Container, customer: Applicant
) -> None:
    top_up = _move(customer, "top-ups", 5_000_000, "t1").json()
    _callback(client, container, top_up["id"])
    operator = bearer(_staff_token(client, container, "op1", "operator"))
    found = client.post(
        "/api/v1/staff/customers/search", json={"card_number": CARD}, headers=operator
    )
    assert found.status_code == 200, found.text
    ((match),) = found.json()
    assert match["name_masked"] == "王**" and "440106199003071231" not in found.text
    account_id = match["account_id"]
    assert (
        client.get(f"/api/v1/staff/accounts/{account_id}", headers=operator).json()["balance_fen"]
        == 5_000_000
    )

    no_reason = client.post(
        f"/api/v1/staff/accounts/{account_id}/freeze", json={}, headers=operator
    )
    assert no_reason.status_code == 422
    frozen = client.post(
        f"/api/v1/staff/accounts/{account_id}/freeze",
        json={"reason": "fraud report 17"},
        headers=operator,
    )
    assert frozen.json() == {
        "account_id": account_id,
        "status": "frozen",
        "status_reason": "fraud report 17",
    }
    blocked = _move(customer, "withdrawals", 100, "w1")
    assert (blocked.status_code, blocked.json()["code"]) == (409, "account_frozen")
    thawed = client.post(
        f"/api/v1/staff/accounts/{account_id}/unfreeze",
        json={"reason": "cleared"},
        headers=operator,
    )
    assert thawed.json()["status"] == "active"

    auditor = bearer(_staff_token(client, container, "aud1", "auditor"))
    day = container.clock.now().date().isoformat()
    refused = client.post("/api/v1/staff/aml/run", params={"date": day}, headers=operator)
    assert refused.status_code == 403
    assert (
        client.post("/api/v1/staff/aml/run", params={"date": day}, headers=auditor).json()[
            "customers"
        ]
        == 1
    )
    report = client.get(
        "/api/v1/staff/aml/report.csv", params={"date": day, "what": "totals"}, headers=auditor
    )
    assert report.headers["content-type"].startswith("text/csv")
    assert report.text.splitlines()[1].endswith(",50000.00,1,0.00,0")


def test_closing_sends_the_balance_home_then_closes(
    client: TestClient, container: Container, customer: Applicant
) -> None:
    top_up = _move(customer, "top-ups", 12_345, "t1").json()
    _callback(client, container, top_up["id"])
    headers = {**customer.headers, "Idempotency-Key": "close-1"}
    closing = client.post(f"{ME}/close", headers=headers)
    assert closing.status_code == 202, closing.text
    body = closing.json()
    assert body["status"] == "restricted" and body["transfer"]["amount_fen"] == 12_345
    assert _callback(client, container, body["transfer"]["id"])["status"] == "settled"
    shown = client.get(ME, headers=customer.headers).json()
    assert (shown["status"], shown["balance_fen"]) == ("closed", 0)
    after = _move(customer, "top-ups", 100, "t2")
    assert (after.status_code, after.json()["code"]) == (409, "account_closed")
    _assert_ledger_clean(container)


def _assert_ledger_clean(container: Container) -> None:
    with container.uow() as uow:
        assert ledger.verify_ledger(uow.session).ok
