"""Receipts end to end over HTTP: a purchase issues a receipt, the embedded dispatcher seals it,
the customer lists and downloads it, a third party verifies it by number + code and by upload,
the public page shows the result, and staff see the day's figures."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.e2e.test_identity_http import PASSWORD, bearer, sign_in
from tests.integration.receipts.conftest import purchase_request
from tests.unit.receipts.test_receipt_seal_verify import _paint_new_amount

from greenbank.bootstrap import Container
from greenbank.crypto import sm3
from greenbank.identity import service, staff
from greenbank.receipts.issue import issue_receipt
from greenbank.receipts.runtime import runtime


def _purchase(container: Container, customer_id: str, source_id: str = "holding-1") -> str:
    """What the deposits service does inside its purchase transaction."""
    with container.uow() as uow:
        receipt = issue_receipt(
            uow.session,
            purchase_request(source_id, customer_id=customer_id),
            clock=container.clock,
            code_key=runtime(container).code_key,
        )
        uow.commit()
        return receipt.receipt_no


def _sealed(client: TestClient, token: str, receipt_no: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the embedded dispatcher seals in the background
        body: dict[str, Any] = client.get(
            f"/api/v1/me/receipts/{receipt_no}", headers=bearer(token)
        ).json()
        if body["status"] == "sealed":
            return body
        time.sleep(0.05)
    raise AssertionError(f"{receipt_no} was not sealed in time")


def _staff_token(client: TestClient, container: Container) -> str:
    staff.create(
        container.uow,
        container.clock,
        service.staff_policy(container),
        username="li.ming",
        display_name="李明",
        password=PASSWORD,
        roles=["operator"],
        actor="test",
    )
    response = client.post(
        "/api/v1/staff/auth/token", json={"username": "li.ming", "password": PASSWORD}
    )
    token: str = response.json()["access_token"]
    return token


def test_issue_seal_download_verify_and_count(client: TestClient, container: Container) -> None:
    customer = sign_in(client)
    token = customer["access_token"]
    no = _purchase(container, customer["customer_id"])
    mine = _sealed(client, token, no)
    assert mine["payer"] == {
        "name": "张*",
        "account": "6236 68** **** 8901",
        "bank": mine["payer"]["bank"],
    }
    assert (mine["amount"], mine["rate"], mine["type_label"]) == ("10,000.00", "1.50%", "存款购买")
    listed = client.get("/api/v1/me/receipts", headers=bearer(token)).json()
    assert (listed["total"], [r["receipt_no"] for r in listed["items"]]) == (1, [no])

    download = client.get(mine["pdf_url"], headers=bearer(token))
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    pdf = download.content
    assert sm3(pdf).hex() == mine["pdf_sm3"]

    stranger = sign_in(client, "13900001234")["access_token"]
    assert client.get(f"/api/v1/me/receipts/{no}", headers=bearer(stranger)).status_code == 404
    assert client.get("/api/v1/me/receipts").status_code == 401

    code = mine["verification_code"]
    checked = client.post(
        "/api/v1/receipts/verify", json={"receipt_no": no, "code": code, "amount": "10000.00"}
    )
    assert checked.status_code == 200, checked.text
    public = checked.json()
    assert public["payer"]["name"] == "张*" and "verification_code" not in public
    assert client.get(public["pdf_url"]).content == pdf
    wrong = client.post("/api/v1/receipts/verify", json={"receipt_no": no, "code": "AAAAAAAAAA"})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "receipt_not_verified")
    amount = client.post(
        "/api/v1/receipts/verify", json={"receipt_no": no, "code": code, "amount": "10000.01"}
    )
    assert (amount.status_code, amount.json()["code"]) == (422, "receipt_amount_mismatch")

    upload = client.post("/api/v1/receipts/verify-pdf", files={"file": ("r.pdf", pdf)})
    verdict = upload.json()
    assert (verdict["valid"], verdict["reason"], verdict["receipt_no"]) == (True, "ok", no)
    assert verdict["matches_stored"] and verdict["receipt"]["amount_fen"] == 1_000_000
    painted = client.post(
        "/api/v1/receipts/verify-pdf", files={"file": ("r.pdf", _paint_new_amount(pdf))}
    ).json()
    assert (painted["valid"], painted["reason"]) == (False, "modified_after_signing")

    staff_token = _staff_token(client, container)
    stats = client.get("/api/v1/staff/receipts/stats", headers=bearer(staff_token))
    assert stats.status_code == 200, stats.text
    figures = stats.json()
    assert (figures["issued"], figures["sealed"], figures["verified"]) == (1, 1, 2)
    assert figures["verification_failed"] == 3  # wrong code, wrong amount, painted upload
    rows = client.get(
        "/api/v1/staff/receipts", params={"status": "sealed"}, headers=bearer(staff_token)
    ).json()
    assert [r["customer_id"] for r in rows["items"]] == [customer["customer_id"]]
    assert client.get("/api/v1/staff/receipts/stats", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("query", "span"),
    [
        ({}, ("2026-02-01", "2026-03-02")),  # the default: 30 days to today (Beijing)
        # 366 days, the most
        ({"date_from": "2025-03-01", "date_to": "2026-03-01"}, ("2025-03-01", "2026-03-01")),
        ({"date_from": "2025-02-28", "date_to": "2026-03-01"}, None),  # 367 days
        ({"date_from": "2026-03-02", "date_to": "2026-03-01"}, None),  # reversed
    ],
)
def test_staff_stats_take_a_bounded_date_range(
    client: TestClient, container: Container, query: dict[str, str], span: tuple[str, str] | None
) -> None:
    response = client.get(
        "/api/v1/staff/receipts/stats",
        params=query,
        headers=bearer(_staff_token(client, container)),
    )
    body = response.json()
    if span is None:
        assert (response.status_code, body["code"]) == (422, "invalid_date_range")
        assert response.headers["content-type"] == "application/problem+json"
    else:
        assert response.status_code == 200, response.text
        assert (body["date_from"], body["date_to"], body["days"]) == (*span, [])


def test_the_public_page(client: TestClient, container: Container) -> None:
    customer = sign_in(client)
    no = _purchase(container, customer["customer_id"])
    mine = _sealed(client, customer["access_token"], no)
    empty = client.get("/verify")
    assert empty.status_code == 200 and "text/html" in empty.headers["content-type"]
    assert 'name="viewport"' in empty.text and 'action="/verify/upload"' in empty.text
    from_qr = client.get("/verify", params={"no": no, "code": mine["verification_code"]})
    assert "回单真实有效" in from_qr.text and "张*" in from_qr.text and "¥10,000.00" in from_qr.text
    refused = client.post("/verify", data={"receipt_no": no, "code": "AAAAAAAAAA"})
    assert refused.status_code == 404 and "No receipt matches" in refused.text
    pdf = client.get(mine["pdf_url"], headers=bearer(customer["access_token"])).content
    good = client.post("/verify/upload", files={"file": ("r.pdf", pdf)})
    assert "回单完整" in good.text
    bad = client.post("/verify/upload", files={"file": ("r.pdf", pdf[:-200])})
    assert "验证未通过" in bad.text


def test_public_verification_is_rate_limited(client: TestClient, container: Container) -> None:
    runtime(container).verify_limit_per_minute = 2
    body = {"receipt_no": "RP20260302000001", "code": "AAAAAAAAAA"}
    assert [client.post("/api/v1/receipts/verify", json=body).status_code for _ in range(2)] == [
        404,
        404,
    ]
    limited = client.post("/api/v1/receipts/verify", json=body)
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert limited.headers["retry-after"] == "60"
    page = client.post("/verify", data=body)
    assert page.status_code == 429 and page.headers["retry-after"] == "60"


@pytest.mark.parametrize("size", [3 * 1024 * 1024])
def test_an_oversized_upload_is_refused(client: TestClient, size: int) -> None:
    response = client.post("/api/v1/receipts/verify-pdf", files={"file": ("r.pdf", b"%" * size)})
    assert (response.status_code, response.json()["code"]) == (413, "receipt_upload_too_large")
