"""The carbon reduction certificate over HTTP: a customer asks for it (201, then 200 with the same
certificate), anyone verifies it by number and code, downloads the original, uploads a copy
(intact or what is wrong), and is rate-limited; errors are problem+json with stable codes."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient
from pyhanko.pdf_utils.reader import PdfFileReader
from test_carbon_http import API, _deliver_purchase, _open
from test_identity_http import bearer, sign_in

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.crypto import sm3

PROBLEM = "application/problem+json"


def _upload(client: TestClient, pdf: bytes) -> dict[str, object]:
    response = client.post(
        f"{API}/certificates/verify-pdf", files={"file": ("c.pdf", pdf, "application/pdf")}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_issue_verify_download_and_upload(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    assert client.post(f"{API}/certificate").status_code == 401
    headers, customer = _open(client, container)
    clock.advance(timedelta(minutes=5))
    _deliver_purchase(container, customer, "h1")

    issued = client.post(f"{API}/certificate", headers=headers)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    number, code = body["certificate_no"], body["verification_code"]
    assert (
        issued.headers["location"]
        == body["verify_url"]
        == (f"/verify/certificate?no={number}&code={code}")
    )
    assert (body["lifetime_kg"], body["provisional_kg"], body["level"]) == ("0.09", "0.09", "绿芽")
    assert body["tree_provisional"] is True and body["created"] is True

    clock.advance(timedelta(minutes=1))
    again = client.post(f"{API}/certificate", headers=headers)
    assert again.status_code == 200
    assert again.json() == body | {"created": False}

    public = client.get(f"{API}/certificates/{number}", params={"code": code})
    assert public.status_code == 200
    shown = public.json()
    assert "verification_code" not in shown
    assert shown["masked_name"] == body["masked_name"]
    assert (shown["lifetime_mg"], shown["issued_at"]) == (89_000, body["issued_at"])

    wrong = client.get(f"{API}/certificates/{number}", params={"code": "ZZZZZ-ZZZZZ"})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "carbon_certificate_not_verified")
    wrong = client.get(f"{API}/certificates/{number}/pdf", params={"code": "ZZZZZZZZZZ"})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "carbon_certificate_not_verified")

    pdf = client.get(shown["pdf_url"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert sm3(pdf.content).hex() == shown["pdf_sm3"]
    reader = PdfFileReader(io.BytesIO(pdf.content))
    assert (
        str(reader.embedded_regular_signatures[0].sig_object["/Reason"]) == f"碳减排证书 {number}"
    )

    verdict = _upload(client, pdf.content)
    assert (verdict["valid"], verdict["reason"], verdict["certificate_no"]) == (True, "ok", number)
    assert verdict["certificate"] == shown

    tampered = pdf.content.replace(b"greenbank carbon", b"greenbank carbom", 1)
    verdict = _upload(client, tampered)
    assert (verdict["valid"], verdict["reason"], verdict["certificate"]) == (
        False,
        "bytes_changed",
        None,
    )
    assert _upload(client, b"<html>not a pdf</html>")["reason"] == "not_a_pdf"


def test_unknown_number_wrong_code_and_no_account_are_clear_errors(
    client: TestClient, container: Container
) -> None:
    headers = bearer(sign_in(client)["access_token"])
    no_account = client.post(f"{API}/certificate", headers=headers)
    assert (no_account.status_code, no_account.json()["code"]) == (404, "carbon_account_not_open")
    assert no_account.headers["content-type"] == PROBLEM

    unknown = client.get(f"{API}/certificates/CR20260302AAAAAAAAAA", params={"code": "ABCDE23456"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "carbon_certificate_not_verified")
    assert unknown.headers["content-type"] == PROBLEM
    malformed = client.get(f"{API}/certificates/CR1", params={"code": "ABCDE23456"})
    assert (malformed.status_code, malformed.json()["code"]) == (422, "validation_failed")
    download = client.get(f"{API}/certificates/CR20260302AAAAAAAAAA/pdf", params={"code": "X" * 10})
    assert (download.status_code, download.json()["code"]) == (
        404,
        "carbon_certificate_not_verified",
    )


def test_public_verification_is_rate_limited(client: TestClient) -> None:
    codes = [
        client.get(f"{API}/certificates/CR20260302AAAAAAAAAA", params={"code": "ZZZZZZZZZZ"})
        for _ in range(11)
    ]
    assert [c.status_code for c in codes[:10]] == [404] * 10
    limited = codes[10]
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert limited.headers["content-type"] == PROBLEM
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_openapi_documents_the_certificate_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    issue = paths[f"{API}/certificate"]["post"]
    assert {"200", "201", "404"} <= set(issue["responses"])
    assert "429" in paths[f"{API}/certificates/{{certificate_no}}"]["get"]["responses"]
    pdf = paths[f"{API}/certificates/{{certificate_no}}/pdf"]["get"]["responses"]["200"]
    assert "application/pdf" in pdf["content"]
    assert f"{API}/certificates/verify-pdf" in paths


def test_the_public_page(client: TestClient, container: Container, clock: FixedClock) -> None:
    """What a person sees: the QR code's link verifies at once; a wrong code, an intact and a
    tampered upload each get their answer in words; the page has both forms."""
    headers, customer = _open(client, container)
    clock.advance(timedelta(minutes=5))
    _deliver_purchase(container, customer, "h1")
    body = client.post(f"{API}/certificate", headers=headers).json()
    number = body["certificate_no"]

    empty = client.get("/verify/certificate")
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/html")
    assert 'name="certificate_no"' in empty.text and 'name="file"' in empty.text

    from_qr = client.get(body["verify_url"])
    assert from_qr.status_code == 200
    assert "证书真实有效" in from_qr.text and body["masked_name"] in from_qr.text
    assert "0.09 kg CO2e，其中 0.09 kg 使用暂定因子" in from_qr.text
    pdf_link = f"/api/v1/carbon/certificates/{number}/pdf?code={body['verification_code']}"
    assert f'href="{pdf_link}"' in from_qr.text

    wrong = client.post("/verify/certificate", data={"certificate_no": number, "code": "Z" * 10})
    assert wrong.status_code == 404 and "证书真实有效" not in wrong.text
    short = client.post("/verify/certificate", data={"certificate_no": number, "code": "Z"})
    assert short.status_code == 200 and "请输入正确的证书编号和验证码" in short.text

    pdf = client.get(pdf_link).content
    intact = client.post(
        "/verify/certificate/upload", files={"file": ("c.pdf", pdf, "application/pdf")}
    )
    assert "与本行存档一致" in intact.text and number in intact.text
    tampered = pdf.replace(b"greenbank carbon", b"greenbank carbom", 1)
    changed = client.post(
        "/verify/certificate/upload", files={"file": ("c.pdf", tampered, "application/pdf")}
    )
    assert "验证未通过：签章后的内容被修改过" in changed.text
