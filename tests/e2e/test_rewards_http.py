"""Rights and incentives over HTTP, end to end under a fake clock.

A customer with points redeems a gift and donates to tree planting (sealed certificate), gets a
deposit rate-bonus coupon from a rule, buys a green time deposit with it (the bonus is printed on
the receipt) and, at maturity, is paid the bonus from marketing expense through the bus. Staff
manage the catalogue, and a rule needs a second staff member to approve it (maker-checker).
Business date at the start: 2026-03-02; demo TD-1Y (green) pays 1.50%, the rule adds 0.10% on
up to 50,000 CNY.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from greenbank.bootstrap import Container
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry, load_bus_modules
from greenbank.bus.dispatcher import Dispatcher
from greenbank.clock import FixedClock
from greenbank.deposits import seed as deposits_seed
from greenbank.deposits.maturity import run_maturity
from greenbank.identity import sessions, staff
from greenbank.identity.service import staff_policy
from greenbank.identity.sessions import PrincipalKind, TokenPolicy
from greenbank.ledger import service as ledger
from greenbank.receipts.issue import find_by_source
from greenbank.receipts.runtime import runtime
from greenbank.receipts.verify import verify_receipt_pdf
from greenbank.rewards import seed as rewards_seed
from greenbank.rewards.consumers import RATE_BONUS_CONSUMER

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "deposits"))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "rewards"))
from holding_support import balance, open_funded_account
from rewards_support import carbon_customer, points_of

API = "/api/v1/rewards"
STAFF_API = "/api/v1/staff/rewards"
LONG = TokenPolicy(access_ttl=timedelta(days=3650), refresh_ttl=timedelta(days=3651))


def token(container: Container, kind: PrincipalKind, principal_id: str) -> dict[str, str]:
    with container.uow() as unit:
        issued = sessions.open_session(
            unit.session, container.clock, LONG, kind=kind, principal_id=principal_id
        )
        unit.commit()
    return {"Authorization": f"Bearer {issued.access_token}"}


def staff_headers(container: Container, username: str) -> dict[str, str]:
    user = staff.create(
        container.uow, container.clock, staff_policy(container), username=username,
        display_name=username, password="correct horse battery", roles=["product_manager"],
        actor="test",
    )  # fmt: skip
    return token(container, PrincipalKind.STAFF, user.id)


@pytest.fixture
def customer(container: Container) -> tuple[str, dict[str, str]]:
    deposits_seed.seed(container)
    rewards_seed.seed(container)
    customer_id = open_funded_account(container, 200_000 * 100)
    carbon_customer(container, 5_000, level="leaf", lifetime_mg=12_000_000, customer_id=customer_id)
    return customer_id, token(container, PrincipalKind.CUSTOMER, customer_id)


def post(client: TestClient, path: str, auth: dict[str, str], key: str, body: object) -> dict:  # type: ignore[type-arg]
    response = client.post(path, json=body, headers={**auth, "Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_gift_donation_rate_bonus_and_boosted_green_deposit(
    client: TestClient,
    container: Container,
    clock: FixedClock,
    customer: tuple[str, dict[str, str]],
) -> None:
    customer_id, auth = customer
    codes = [i["code"] for i in client.get(f"{API}/catalogue").json()]
    assert {"BAMBOO-CUP", "METRO-5", "BIKE-MONTH"} <= set(codes)

    gift = {"item_code": "BAMBOO-CUP", "ship_to": "广州市天河区珠江新城 1 号"}
    order = post(client, f"{API}/orders", auth, "gift-1", gift)
    assert (order["points"], order["status"]) == (800, "created")
    retry = client.post(f"{API}/orders", json=gift, headers={**auth, "Idempotency-Key": "gift-1"})
    assert retry.status_code == 200 and retry.json()["id"] == order["id"]
    coupon = post(client, f"{API}/orders", auth, "metro-1", {"item_code": "METRO-5"})
    assert coupon["status"] == "fulfilled" and coupon["coupon_code"].startswith("METRO5-DEMO-")

    donation = post(
        client, f"{API}/donations", auth, "tree-1", {"project_code": "TREES-KUBUQI", "units": 3}
    )
    assert donation["points"] == 600 and donation["certificate_no"].startswith("DC20260302")
    assert points_of(container, customer_id) == 5_000 - 800 - 300 - 600
    project = next(p for p in client.get(f"{API}/projects").json() if p["code"] == "TREES-KUBUQI")
    assert (project["funded_units"], project["donors"]) == (3, 1)
    pdf = client.get(f"{API}/donations/{donation['id']}/certificate", headers=auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    checked = verify_receipt_pdf(pdf.content, runtime(container).trust_roots)
    assert checked.valid and checked.receipt_no == donation["certificate_no"]

    granted = client.post(f"{API}/perks/evaluate", headers=auth).json()
    assert [g["kind"] for g in granted] == ["rate_bonus"]  # leaf: not yet tree or forest
    assert granted[0]["valid_until"] == "2026-04-01"
    assert client.post(f"{API}/perks/evaluate", headers=auth).json() == []  # once a month

    before = balance(container, customer_id)
    bought = client.post(
        "/api/v1/deposits/holdings",
        json={
            "product_code": "TD-1Y",
            "amount_fen": 8_000_000,
            "maturity_option": "return_to_balance",
        },
        headers={**auth, "Idempotency-Key": "green-1"},
    )
    assert bought.status_code == 201, bought.text
    holding_id = bought.json()["id"]
    with container.uow() as unit:
        receipt = find_by_source(unit.session, "deposits.deposit_purchase", holding_id)
        assert receipt is not None and receipt.rate_bonus == "0.0010"
    [perk] = client.get(f"{API}/perks", headers=auth).json()
    assert (perk["status"], perk["used_ref"]) == ("used", holding_id)

    clock.set(datetime(2027, 3, 2, 2, 0, tzinfo=UTC))
    run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 2))
    load_bus_modules()
    consumer = REGISTRY.get(RATE_BONUS_CONSUMER)
    assert consumer is not None
    dispatcher = Dispatcher(container, consumers=ConsumerRegistry([consumer]))
    # interest 8,000,000 x 1.50% = 120,000; bonus on the first 5,000,000 x 0.10% = 5,000
    expected = before + 120_000 + 5_000
    deadline = time.monotonic() + 10  # the app's embedded dispatcher may be delivering it
    while balance(container, customer_id) != expected and time.monotonic() < deadline:
        dispatcher.drain()
        time.sleep(0.02)
    assert balance(container, customer_id) == expected
    with container.uow() as unit:
        spent = ledger.balance(unit.session, clock=clock, account=ledger.MARKETING_EXPENSE)
    assert spent.balance_fen == 5_000


def test_staff_catalogue_and_maker_checker(client: TestClient, container: Container) -> None:
    maker, checker = staff_headers(container, "pm.li"), staff_headers(container, "pm.wang")
    item = {"code": "SEED-PACK", "kind": "gift", "name": "花种包", "points_price": 120, "stock": 5}
    assert client.post(f"{STAFF_API}/items", json=item, headers=maker).status_code == 201
    assert client.post(f"{STAFF_API}/items", json=item).status_code == 401
    changed = client.patch(f"{STAFF_API}/items/SEED-PACK", json={"add_stock": 3}, headers=maker)
    assert changed.json()["stock"] == 8
    rule = {
        "code": "points_payment_discount",
        "kind": "payment_discount",
        "conditions": [{"field": "points_earned", "op": ">=", "value": 1000}],
        "params": {"amount_off_fen": 500, "min_spend_fen": 5000},
    }
    made = client.post(f"{STAFF_API}/rules", json={"definition": rule}, headers=maker).json()
    assert made["status"] == "draft" and made["version"] == 1
    client.post(f"{STAFF_API}/rules/{made['id']}/submit", headers=maker)
    own = client.post(f"{STAFF_API}/rules/{made['id']}/approve", headers=maker)
    assert own.status_code == 403 and own.json()["code"] == "perk_rule_maker_checker"
    ok = client.post(f"{STAFF_API}/rules/{made['id']}/approve", headers=checker)
    assert ok.json()["status"] == "active"
    bad = dict(rule, params={"amount_off_fen": -1})
    refused = client.post(f"{STAFF_API}/rules", json={"definition": bad}, headers=maker)
    assert refused.status_code == 422 and refused.json()["code"] == "perk_rule_invalid"
