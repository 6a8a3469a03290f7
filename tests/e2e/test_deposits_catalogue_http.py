"""The public deposit catalogue over HTTP: products, trial figures to the fen, each refusal code.

The demo seed provides the launch set; the fixture clock's business date is 2026-03-02.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from greenbank.bootstrap import Container
from greenbank.deposits import catalogue, seed
from greenbank.deposits.domain import ProductKind, Term, percent
from greenbank.deposits.models import ProductSpec

API = "/api/v1/deposits"
STAFF = "staff:e2e"


@pytest.fixture
def seeded(container: Container) -> Container:
    seed.seed(container)
    return container


def _extra_product(container: Container, code: str, **settings: Any) -> None:
    spec = ProductSpec(
        code=code,
        name=code,
        kind=ProductKind.TIME_DEPOSIT,
        term=Term.Y1,
        minimum_fen=5_000,
        sale_start=container.clock.now() - timedelta(days=1),
        **settings,
    )
    args = {"uow": container.uow, "clock": container.clock, "actor": STAFF}
    catalogue.create_product(**args, spec=spec)
    catalogue.post_product_rate(**args, code=code, rate=percent("1.50"))
    catalogue.publish_product(**args, code=code)


def test_lists_the_products_on_sale(client: TestClient, seeded: Container) -> None:
    catalogue.pause_product(uow=seeded.uow, clock=seeded.clock, actor=STAFF, code="TD-6M")
    response = client.get(f"{API}/products")
    assert response.status_code == 200
    products = response.json()
    assert [p["code"] for p in products] == ["TD-3M", "TD-1Y", "TD-2Y", "TD-3Y", "CD-3Y-2026-01"]
    one_year = products[1]
    assert one_year["rate"] == {"percent": "1.50", "fraction": "0.015"}
    assert (one_year["term"], one_year["kind_name"], one_year["green"]) == ("1y", "整存整取", True)
    assert (one_year["minimum_fen"], one_year["step_fen"]) == (5_000, 100)
    assert one_year["maturity_options"] == ["rollover", "return_to_balance"]
    assert "存款保险" in one_year["disclosure"] and "50万元" in one_year["disclosure"]
    cd = products[-1]
    assert (cd["kind_name"], cd["minimum_fen"], cd["partial_withdrawal_allowed"]) == (
        "大额存单",
        20_000_000,
        False,
    )
    assert cd["quota_remaining_fen"] == cd["total_quota_fen"] == 10_000_000_000


def test_one_product_and_not_found(client: TestClient, seeded: Container) -> None:
    body = client.get(f"{API}/products/TD-3Y").json()
    assert (body["rate"]["percent"], body["on_sale"]) == ("1.95", True)
    catalogue.create_product(
        uow=seeded.uow,
        clock=seeded.clock,
        actor=STAFF,
        spec=ProductSpec(
            code="TD-5Y",
            name="draft",
            kind=ProductKind.TIME_DEPOSIT,
            term=Term.Y5,
            minimum_fen=5_000,
            sale_start=seeded.clock.now(),
        ),
    )
    for code in ("TD-5Y", "NOPE"):  # a draft is not public
        response = client.get(f"{API}/products/{code}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "product_not_found"


def test_trial_is_the_worked_example_to_the_fen(client: TestClient, seeded: Container) -> None:
    response = client.post(f"{API}/products/TD-1Y/trial", json={"amount_fen": 1_000_000})
    assert response.status_code == 200
    assert response.json() == {
        "product_code": "TD-1Y",
        "principal_fen": 1_000_000,
        "term": "1y",
        "rate": {"percent": "1.50", "fraction": "0.015"},
        "value_date": "2026-03-02",
        "maturity_date": "2027-03-02",
        "expected_interest_fen": 15_000,
        "amount_at_maturity_fen": 1_015_000,
        "withdrawal": None,
    }


def test_trial_of_early_and_late_withdrawals(client: TestClient, seeded: Container) -> None:
    catalogue.post_demand_rate(
        uow=seeded.uow,
        clock=seeded.clock,
        actor=STAFF,
        rate=percent("0.30"),
        effective_from=date(2026, 3, 3),
    )
    early = client.post(
        f"{API}/products/TD-1Y/trial", json={"amount_fen": 5_000_000, "withdraw_on": "2027-01-16"}
    ).json()["withdrawal"]
    # 320 days at the demand rate posted for that day: 5,000,000 x 0.30% x 320/360 = 133.33
    assert (early["kind"], early["interest_fen"], early["net_fen"]) == (
        "full_early",
        13_333,
        5_013_333,
    )
    assert early["demand_rate"] == {"percent": "0.30", "fraction": "0.003"}
    late = client.post(
        f"{API}/products/TD-1Y/trial", json={"amount_fen": 1_000_000, "withdraw_on": "2027-04-01"}
    ).json()["withdrawal"]
    assert late["kind"] == "maturity"
    assert [line["interest_fen"] for line in late["lines"]] == [15_000, 250]
    partial = client.post(
        f"{API}/products/TD-1Y/trial",
        json={
            "amount_fen": 5_000_000,
            "withdraw_on": "2026-06-10",
            "partial_amount_fen": 1_000_000,
        },
    ).json()["withdrawal"]
    assert (partial["kind"], partial["interest_fen"]) == ("partial_early", 833)
    assert (partial["remaining_principal_fen"], partial["remaining_expected_interest_fen"]) == (
        4_000_000,
        60_000,
    )


@pytest.mark.parametrize(
    ("code", "body", "status", "problem"),
    [
        ("TD-1Y", {"amount_fen": 4_999}, 422, "amount_below_minimum"),
        ("TD-1Y", {"amount_fen": 5_050}, 422, "amount_not_multiple_of_step"),
        ("CAPPED", {"amount_fen": 100_100}, 422, "amount_above_maximum"),
        ("TD-1Y", {"amount_fen": 10_000, "term": "2y"}, 422, "term_not_offered"),
        ("TD-1Y", {"amount_fen": 10_000, "term": "7m"}, 422, "invalid_term"),
        ("NOPE", {"amount_fen": 10_000}, 404, "product_not_found"),
        ("TD-6M", {"amount_fen": 10_000}, 409, "product_not_on_sale"),
        ("SMALL", {"amount_fen": 20_100}, 409, "quota_exhausted"),
        ("TD-1Y", {"amount_fen": 10_000, "partial_amount_fen": 5_000}, 422, "withdraw_on_required"),
        ("TD-1Y", {"amount_fen": 10_000, "withdraw_on": "2026-03-01"}, 422, "invalid_period"),
        (
            "CD-3Y-2026-01",
            {"amount_fen": 20_000_000, "withdraw_on": "2026-06-01", "partial_amount_fen": 100},
            422,
            "partial_withdrawal_not_allowed",
        ),
        (
            "TD-1Y",
            {"amount_fen": 10_000, "withdraw_on": "2026-06-01", "partial_amount_fen": 5_001},
            422,
            "remaining_below_minimum",
        ),
        ("TD-1Y", {"amount_fen": -1}, 422, "validation_failed"),
        ("TD-1Y", {"amount_fen": 10_000, "rate": "9.99"}, 422, "validation_failed"),
    ],
)
def test_bad_trial_input_is_problem_json(
    client: TestClient,
    seeded: Container,
    code: str,
    body: dict[str, Any],
    status: int,
    problem: str,
) -> None:
    _extra_product(seeded, "CAPPED", maximum_fen=100_000)
    _extra_product(seeded, "SMALL", total_quota_fen=20_000)
    catalogue.pause_product(uow=seeded.uow, clock=seeded.clock, actor=STAFF, code="TD-6M")
    response = client.post(f"{API}/products/{code}/trial", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == problem


def test_demand_rate(client: TestClient, seeded: Container) -> None:
    body = client.get(f"{API}/rates/demand").json()
    assert body["current"] == {
        "rate": {"percent": "0.10", "fraction": "0.001"},
        "effective_from": "2026-03-02",
    }
    assert body["history"] == [body["current"]]


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"{API}/products", f"{API}/products/{{code}}", f"{API}/rates/demand"} <= set(paths)
    trial_op = paths[f"{API}/products/{{code}}/trial"]["post"]
    assert "试算" in trial_op["summary"]
    assert "amount_below_minimum" in trial_op["responses"]["422"]["description"]
