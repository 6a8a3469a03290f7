"""Holdings over HTTP under a fake clock: buy each demo product, see the trial figure, withdraw
early (full and partial), reach maturity, and the staff reports — interest to the fen.

The customer's Class II account and balance are created in a fixture (``holding_support``) and
the customer gets a bearer token from ``identity.sessions`` directly: the KYC opening flow and the
SMS sign-in have their own end-to-end tests. Demo rates (seed): 3m 1.15%, 6m 1.35%, 1y 1.50%,
2y 1.60%, 3y 1.95%, CD 3y 2.15%; demand 0.10%. Business date at the start: 2026-03-02.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits import seed
from greenbank.deposits.maturity import run_maturity
from greenbank.identity import sessions, staff
from greenbank.identity.service import staff_policy
from greenbank.identity.sessions import PrincipalKind, TokenPolicy
from greenbank.receipts.models import Receipt

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "deposits"))
from holding_support import balance, open_funded_account

API = "/api/v1/deposits/holdings"
LONG = TokenPolicy(access_ttl=timedelta(days=3650), refresh_ttl=timedelta(days=3651))


def token(container: Container, kind: PrincipalKind, principal_id: str) -> dict[str, str]:
    with container.uow() as unit:
        issued = sessions.open_session(
            unit.session, container.clock, LONG, kind=kind, principal_id=principal_id
        )
        unit.commit()
    return {"Authorization": f"Bearer {issued.access_token}"}


@pytest.fixture
def customer(container: Container) -> tuple[str, dict[str, str]]:
    seed.seed(container)
    customer_id = open_funded_account(container, 1_000_000 * 100)
    return customer_id, token(container, PrincipalKind.CUSTOMER, customer_id)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 Beijing


def buy(client: TestClient, auth: dict[str, str], key: str, **body: object) -> dict[str, object]:
    response = client.post(API, json=body, headers={**auth, "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return dict(response.json())


# (code, amount fen, expected interest at maturity, maturity date) from a value date 2026-03-02
PRODUCTS = [
    ("TD-3M", 1_000_000, 2_875, "2026-06-02"),  # 1,000,000 x 1.15% x 3/12
    ("TD-6M", 1_000_000, 6_750, "2026-09-02"),  # x 1.35% x 6/12
    ("TD-1Y", 1_000_000, 15_000, "2027-03-02"),  # x 1.50%
    ("TD-2Y", 1_000_000, 32_000, "2028-03-02"),  # x 1.60% x 2
    ("TD-3Y", 1_000_000, 58_500, "2029-03-02"),  # x 1.95% x 3
    ("CD-3Y-2026-01", 20_000_000, 1_290_000, "2029-03-02"),  # 20,000,000 x 2.15% x 3
]


def test_buy_each_demo_product_and_see_it(
    client: TestClient, container: Container, customer: tuple[str, dict[str, str]]
) -> None:
    customer_id, auth = customer
    for code, amount, interest, maturity in PRODUCTS:
        body = buy(client, auth, f"buy-{code}", product_code=code, amount_fen=amount)
        assert (body["expected_interest_fen"], body["maturity_date"]) == (interest, maturity)
        assert body["value_date"] == "2026-03-02" and body["status"] == "active"
    retry = client.post(
        API,
        json={"product_code": "TD-3M", "amount_fen": 1_000_000},
        headers={**auth, "Idempotency-Key": "buy-TD-3M"},
    )
    assert retry.status_code == 200
    listed = client.get(API, headers=auth).json()
    assert len(listed) == 6
    spent = sum(amount for _, amount, _, _ in PRODUCTS)
    assert balance(container, customer_id) == 100_000_000 - spent
    cd = next(h for h in listed if h["product_code"] == "CD-3Y-2026-01")
    assert cd["maturity_option"] == "return_to_balance"  # the CD offers no rollover
    refused = client.post(
        API,
        json={"product_code": "TD-1Y", "amount_fen": 90_000_000},
        headers={**auth, "Idempotency-Key": "too-much"},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_funds"
    assert client.get(API).status_code == 401
    with container.uow() as unit:
        receipts = unit.session.scalars(select(Receipt).order_by(Receipt.sequence)).all()
        assert [r.receipt_no for r in receipts][:2] == ["RP20260302000001", "RP20260302000002"]
        assert len(receipts) == 6 and {r.source_type for r in receipts} == {
            "deposits.deposit_purchase"
        }
        assert receipts[0].payer_name == "张*" and receipts[0].amount_fen == 1_000_000


def test_trial_then_early_full_and_partial_withdrawals(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    customer: tuple[str, dict[str, str]],
) -> None:
    customer_id, auth = customer
    full = buy(client, auth, "a", product_code="TD-1Y", amount_fen=1_000_000)
    part = buy(client, auth, "b", product_code="TD-2Y", amount_fen=5_000_000)
    before = balance(container, customer_id)
    clock.set(at(date(2026, 9, 15)))  # 197 days held
    trial = client.post(f"{API}/{full['id']}/withdrawal-trial", json={}, headers=auth).json()
    # 1,000,000 x 0.10% x 197/360 = 547.22 -> 547
    assert (trial["kind"], trial["interest_fen"], trial["net_fen"]) == (
        "full_early",
        547,
        1_000_547,
    )
    done = client.post(
        f"{API}/{full['id']}/withdrawals", json={}, headers={**auth, "Idempotency-Key": "w1"}
    )
    assert done.status_code == 201 and done.json()["payout"]["interest_fen"] == 547
    with container.uow() as unit:
        receipt = unit.session.scalars(
            select(Receipt).where(Receipt.type == "early_withdrawal")
        ).one()
        assert (receipt.amount_fen, receipt.payee_name) == (1_000_547, "张*")
    assert done.json()["holding_status"] == "closed"
    partial = {"amount_fen": 2_000_000}
    trial = client.post(f"{API}/{part['id']}/withdrawal-trial", json=partial, headers=auth).json()
    # 2,000,000 x 0.10% x 197/360 = 1,094.44 -> 1,094; the rest 3,000,000 keeps 1.60% for 2y
    assert (trial["kind"], trial["interest_fen"], trial["remaining_principal_fen"]) == (
        "partial_early",
        1_094,
        3_000_000,
    )
    assert trial["remaining_expected_interest_fen"] == 96_000
    done = client.post(
        f"{API}/{part['id']}/withdrawals", json=partial, headers={**auth, "Idempotency-Key": "w2"}
    )
    assert done.status_code == 201 and done.json()["payout"]["remaining_fen"] == 3_000_000
    again = client.post(
        f"{API}/{part['id']}/withdrawals", json=partial, headers={**auth, "Idempotency-Key": "w3"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "partial_withdrawal_already_used"
    assert balance(container, customer_id) == before + 1_000_547 + 2_001_094
    detail = client.get(f"{API}/{part['id']}", headers=auth).json()
    assert (detail["principal_fen"], detail["rate"]["percent"], detail["maturity_date"]) == (
        3_000_000,
        "1.60",
        "2028-03-02",
    )
    assert [p["kind"] for p in detail["history"]] == ["partial_early"]


def test_maturity_return_and_rollover_under_a_fake_clock(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    customer: tuple[str, dict[str, str]],
) -> None:
    customer_id, auth = customer
    back = buy(
        client,
        auth,
        "r",
        product_code="TD-6M",
        amount_fen=1_000_000,
        maturity_option="return_to_balance",
    )
    roll = buy(client, auth, "o", product_code="TD-3M", amount_fen=1_000_000)
    before = balance(container, customer_id)
    clock.set(at(date(2026, 9, 2)))
    report = run_maturity(uow_factory=container.uow, clock=clock, on=date(2026, 9, 2))
    assert (report.returned, report.rolled_over) == (1, 1)
    assert balance(container, customer_id) == before + 1_006_750
    rolled = client.get(f"{API}/{roll['id']}", headers=auth).json()
    # 2026-06-02: +2,875 -> 1,002,875 at 1.15%; 2026-09-02: +2,883.27 -> 2,883 -> 1,005,758
    assert (rolled["principal_fen"], rolled["cycle"], rolled["maturity_date"]) == (
        1_005_758,
        2,
        "2026-12-02",
    )
    assert [p["interest_fen"] for p in rolled["history"]] == [2_875, 2_883]
    closed = client.get(f"{API}/{back['id']}", headers=auth).json()
    assert closed["status"] == "closed" and closed["history"][0]["net_fen"] == 1_006_750
    assert [h["id"] for h in client.get(API, headers=auth).json()] == [roll["id"]]


def test_staff_reports(
    client: TestClient, container: Container, customer: tuple[str, dict[str, str]]
) -> None:
    _, auth = customer
    buy(client, auth, "x", product_code="TD-3M", amount_fen=1_000_000)
    buy(client, auth, "y", product_code="CD-3Y-2026-01", amount_fen=20_000_000)
    user = staff.create(
        container.uow,
        container.clock,
        staff_policy(container),
        username="pm.li",
        display_name="李经理",
        password="correct horse battery",
        roles=["product_manager"],
        actor="test",
    )
    headers = token(container, PrincipalKind.STAFF, user.id)
    sales = {
        s["code"]: s for s in client.get("/api/v1/staff/deposits/sales", headers=headers).json()
    }
    cd = sales["CD-3Y-2026-01"]
    assert (cd["holdings_active"], cd["sold_fen"]) == (1, 20_000_000)
    assert cd["quota_remaining_fen"] == 10_000_000_000 - 20_000_000
    url = "/api/v1/staff/deposits/maturity-calendar"
    assert client.get(url, headers=headers).json() == []  # 2026-06-02 is 92 days away
    calendar = client.get(url, params={"days": 100}, headers=headers).json()
    assert calendar == [
        {
            "day": "2026-06-02",
            "holdings": 1,
            "principal_fen": 1_000_000,
            "interest_fen": 2_875,
            "rollover": 1,
            "by_product": {"TD-3M": 1_000_000},
        }
    ]
    assert client.get("/api/v1/staff/deposits/sales", headers=auth).status_code == 401
