"""Staff figures of the carbon reduction certificates over HTTP: certificates issued and public
checks on two business days, counted per day and in total; ``reports.read`` only; a bad date
range is problem+json."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from test_carbon_certificate_http import PROBLEM, _upload
from test_carbon_http import API, _deliver_purchase, _open
from test_identity_http import _staff, _staff_token, bearer, sign_in

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock

STATS = f"{API}/staff/certificates/stats"
WRONG = "ZZZZZ-ZZZZZ"


def _reader(client: TestClient, container: Container) -> dict[str, str]:
    _staff(container, "ana", "auditor")  # holds reports.read
    return bearer(_staff_token(client, "ana"))


def test_issued_verified_failed_and_downloaded_per_day(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    headers, customer = _open(client, container)
    clock.advance(timedelta(minutes=5))
    _deliver_purchase(container, customer, "h1")
    first = client.post(f"{API}/certificate", headers=headers).json()
    again = client.post(f"{API}/certificate", headers=headers)
    assert again.status_code == 200  # the same certificate: not issued twice
    one = f"{API}/certificates/{first['certificate_no']}"
    code = first["verification_code"]
    assert client.get(one, params={"code": code}).status_code == 200
    assert client.get(one, params={"code": WRONG}).status_code == 404
    pdf = client.get(f"{one}/pdf", params={"code": code})
    assert pdf.status_code == 200
    assert _upload(client, pdf.content)["valid"] is True
    tampered = pdf.content.replace(b"greenbank carbon", b"greenbank carbom", 1)
    assert _upload(client, tampered)["reason"] == "bytes_changed"

    clock.advance(timedelta(days=1))  # 2026-03-03 in Beijing: a new day, a new certificate
    tokens = sign_in(client)  # yesterday's access token has expired
    assert tokens["customer_id"] == customer
    second = client.post(f"{API}/certificate", headers=bearer(tokens["access_token"]))
    assert second.status_code == 201
    assert client.get(f"{one}/pdf", params={"code": WRONG}).status_code == 404
    assert client.get(one, params={"code": code}).status_code == 200  # yesterday's, still valid
    page = client.get(second.json()["verify_url"])  # the QR code's page counts as well
    assert page.status_code == 200 and "证书真实有效" in page.text

    reader = _reader(client, container)
    stats = client.get(STATS, headers=reader)
    assert stats.status_code == 200, stats.text
    day_1 = {"issued": 1, "verified": 2, "verification_failed": 2, "downloads": 1}
    day_2 = {"issued": 1, "verified": 2, "verification_failed": 1, "downloads": 0}
    assert stats.json() == {
        "date_from": "2026-02-02",  # 30 days up to today by default
        "date_to": "2026-03-03",
        "issued": 2,
        "verified": 4,
        "verification_failed": 3,
        "downloads": 1,
        "days": [{"day": "2026-03-02", **day_1}, {"day": "2026-03-03", **day_2}],
    }
    only = {"date_from": "2026-03-03", "date_to": "2026-03-03"}
    assert client.get(STATS, params=only, headers=reader).json() == {
        **only,
        **day_2,
        "days": [{"day": "2026-03-03", **day_2}],
    }


def test_only_report_readers_see_the_figures(client: TestClient, container: Container) -> None:
    _staff(container, "li.ming", "operator")  # receipts.stats.read, not reports.read
    refused = client.get(STATS, headers=bearer(_staff_token(client, "li.ming")))
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert refused.headers["content-type"] == PROBLEM
    customer = bearer(sign_in(client)["access_token"])
    assert client.get(STATS, headers=customer).status_code == 401
    assert client.get(STATS).status_code == 401


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, "invalid_date_range"),
        ({"date_from": "2025-02-28", "date_to": "2026-03-01"}, "invalid_date_range"),  # 367 days
        ({"date_from": "2026-02-30"}, "validation_failed"),
    ],
)
def test_a_bad_range_is_problem_json(
    client: TestClient, container: Container, query: dict[str, str], code: str
) -> None:
    response = client.get(STATS, params=query, headers=_reader(client, container))
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert response.headers["content-type"] == PROBLEM


def test_openapi_documents_the_figures(client: TestClient) -> None:
    route = client.get("/openapi.json").json()["paths"][STATS]["get"]
    assert {"200", "401", "403", "422"} <= set(route["responses"])
    assert [p["name"] for p in route["parameters"]] == ["date_from", "date_to"]
    assert "verification_failed" in route["description"]
