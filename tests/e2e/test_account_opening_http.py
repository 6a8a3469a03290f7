"""Opening a Class II account over HTTP with the sandbox vendors: sign in by SMS, every step to
an open account, each refusal path, a vendor timeout then a retry, and the staff review."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from greenbank.accounts.sandbox import sandbox_payload, sandbox_person
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.identity import service, staff

BASE = "/api/v1/accounts/applications"
CONSENTS = {"terms": "2026-01", "personal_information": "2026-01", "sensitive_face": "2026-01"}
SELFIE = b"\x89PNG a live face, blinking"
PASSWORD = "correct horse battery staple"


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def read_code(client: TestClient, phone: str) -> str:
    messages = client.get("/api/v1/sandbox/sms", params={"phone": phone}).json()
    found = re.search(r"验证码为(\d{6})", messages[0]["text"])
    assert found, messages
    return found.group(1)


class Applicant:
    """One customer driving the API; ``phone`` signs in, the sandbox person's data is used."""

    def __init__(self, client: TestClient, clock: FixedClock, person: str, phone: str) -> None:
        self.client, self.clock, self.key = client, clock, person
        self.person = sandbox_person(person)
        assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 200
        signed = client.post(
            "/api/v1/auth/token", json={"phone": phone, "code": read_code(client, phone)}
        )
        assert signed.status_code == 200, signed.text
        self.headers = bearer(signed.json()["access_token"], **{"X-Device-Id": f"dev-{person}"})
        self.app_id = ""

    def post(self, path: str, *, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        merged = {**self.headers, **(headers or {})}
        return self.client.post(f"{BASE}/{self.app_id}{path}", headers=merged, **kw)

    def start(self) -> Any:
        response = self.client.post(BASE, json={"consents": CONSENTS}, headers=self.headers)
        if response.status_code == 201:
            self.app_id = response.json()["id"]
        return response

    def upload(self) -> Any:
        files = {
            "front": ("front.json", sandbox_payload(self.key, "front"), "application/json"),
            "back": ("back.json", sandbox_payload(self.key, "back"), "application/json"),
        }
        return self.post("/id-card", files=files)

    def confirm(self, **changes: str) -> Any:
        card = self.person.card
        body = {
            "name": card.name,
            "id_number": card.id_number,
            "address": card.address,
            "validity": card.validity,
            "occupation": "教师",
            **changes,
        }
        return self.post("/id-card/confirm", json=body)

    def face(self, selfie: bytes = SELFIE) -> Any:
        challenge = self.post("/face/challenge")
        assert challenge.status_code == 200, challenge.text
        token = challenge.json()["token"]
        return self.post("/face", data={"token": token}, files={"selfie": ("s.png", selfie)})

    def card_code(self, card: str | None = None, mobile: str | None = None) -> Any:
        self.clock.advance(timedelta(seconds=61))  # the SMS resend cooldown of the sign-in code
        body = {
            "card_number": card or self.person.card_number,
            "bank_mobile": mobile or self.person.bank_mobile or "13926260007",
        }
        return self.post("/card/code", json=body)

    def bind(self, code: str | None = None) -> Any:
        mobile = self.person.bank_mobile or "13926260007"
        body = {
            "card_number": self.person.card_number,
            "bank_mobile": mobile,
            "code": code or read_code(self.client, mobile),
        }
        return self.post("/card", json=body)

    def through_card(self) -> None:
        for step in (self.start, self.upload, self.confirm, self.face, self.card_code, self.bind):
            response = step()
            assert response.status_code in (200, 201), (step.__name__, response.text)


def applicant(client: TestClient, clock: FixedClock, person: str) -> Applicant:
    phone = sandbox_person(person).bank_mobile or "13926260007"
    return Applicant(client, clock, person, phone)


def test_sign_in_to_an_open_account(
    client: TestClient, clock: FixedClock, container: Container
) -> None:
    me = applicant(client, clock, "wang_xiaoming")
    started = me.start()
    assert started.status_code == 201 and started.json()["next_step"] == "upload_id"
    uploaded = me.upload()
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["recognised"]["id_number"] == "440106199003071231"
    assert me.confirm().json()["next_step"] == "verify_face"
    assert me.face().json()["next_step"] == "bind_card"
    sent = me.card_code()
    assert sent.status_code == 200 and sent.json()["phone_masked"] == "139****1234"
    bound = me.bind()
    assert bound.json()["state"] == "card_bound", bound.text
    opened = me.post("/submit", headers={"Idempotency-Key": "submit-1"})
    assert opened.status_code == 200, opened.text
    body = opened.json()
    assert body["state"] == "opened" and body["account_id"]
    assert body["name"] == "王**" and body["id_number"] == "440106********1231"
    assert body["card_number"] == "6217 27** **** ***0 015"
    replay = me.post("/submit", headers={"Idempotency-Key": "submit-1"})
    assert replay.json() == body and replay.headers["Idempotent-Replayed"] == "true"
    again = me.start()
    assert again.status_code == 409 and again.json()["code"] == "account_limit_reached"
    shown = client.get(f"{BASE}/{me.app_id}", headers=me.headers).text
    assert "440106199003071231" not in shown and "王小明" not in shown
    with container.engine.connect() as conn:
        rows = conn.execute(text("SELECT id_number, name FROM customers")).all()
        tables = conn.execute(text("SELECT id_number FROM account_applications")).all()
    assert all("440106199003071231" not in str(r) and "王小明" not in str(r) for r in rows)
    assert all(str(r[0]).startswith("v1:") for r in tables)


@pytest.mark.parametrize(
    ("person", "step", "status", "code"),
    [
        ("li_si", "confirm", 403, "id_verification_no_record"),
        ("sun_ba", "confirm", 422, "id_expired"),
        ("zhao_liu", "card_code", 422, "credit_card_not_allowed"),
        ("qian_qi", "card_code", 422, "bank_mobile_mismatch"),
        ("zhou_jiu", "submit", 403, "region_not_served"),
    ],
)
def test_refusals_are_problems_with_their_code(
    client: TestClient, clock: FixedClock, person: str, step: str, status: int, code: str
) -> None:
    me = applicant(client, clock, person)
    order = ["start", "upload", "confirm", "face", "card_code", "bind", "submit"]
    for name in order[: order.index(step)]:
        response = getattr(me, name)()
        assert response.status_code in (200, 201), (name, response.text)
    refused = me.post("/submit") if step == "submit" else getattr(me, step)()
    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == code
    assert person not in refused.text and me.person.card.id_number not in refused.text


def test_bad_input_changes_nothing(client: TestClient, clock: FixedClock) -> None:
    me = applicant(client, clock, "wang_xiaoming")
    me.start()
    assert me.start().json()["code"] == "application_in_progress"
    me.upload()
    checksum = me.confirm(id_number="440106199003071232")
    assert checksum.status_code == 422 and checksum.json()["code"] == "id_number_checksum"
    assert me.confirm(id_number="44010619900307").json()["code"] == "id_number_malformed"
    assert me.confirm(name="王 小明 1").json()["code"] == "name_malformed"
    mismatch = me.confirm(name="王大明")
    assert mismatch.status_code == 403 and mismatch.json()["code"] == "id_verification_mismatch"
    state = client.get(f"{BASE}/{me.app_id}", headers=me.headers).json()
    assert state["state"] == "refused" and state["refusal_code"] == "id_verification_mismatch"


def test_card_of_someone_else_and_wrong_codes(client: TestClient, clock: FixedClock) -> None:
    me = applicant(client, clock, "wang_xiaoming")
    for step in (me.start, me.upload, me.confirm, me.face):
        assert step().status_code in (200, 201)
    other = me.card_code(card=sandbox_person("zhang_san").card_number)
    assert other.status_code == 422 and other.json()["code"] == "card_not_owned"
    assert me.card_code().status_code == 200
    wrong = me.bind(code="000000")
    assert wrong.status_code == 400 and wrong.json()["code"] == "otp_invalid"
    for _ in range(4):
        me.bind(code="000000")
    burnt = me.bind()
    assert burnt.json()["code"] == "otp_attempts_exceeded"
    state = client.get(f"{BASE}/{me.app_id}", headers=me.headers).json()
    assert state["state"] == "face_verified" and state["next_step"] == "bind_card"


def test_a_vendor_timeout_then_the_retry_passes(client: TestClient, clock: FixedClock) -> None:
    me = applicant(client, clock, "wu_shi")
    me.start()
    me.upload()
    timed_out = me.confirm()
    assert timed_out.status_code == 503 and timed_out.json()["code"] == "provider_unavailable"
    assert client.get(f"{BASE}/{me.app_id}", headers=me.headers).json()["state"] == "id_captured"
    retried = me.confirm()
    assert retried.status_code == 200 and retried.json()["state"] == "id_verified"


def test_face_below_threshold_then_refused(client: TestClient, clock: FixedClock) -> None:
    me = applicant(client, clock, "wang_wu")
    for step in (me.start, me.upload, me.confirm):
        assert step().status_code in (200, 201)
    first = me.face()
    assert first.status_code == 422 and first.json()["attempts_left"] == 2
    me.face()
    last = me.face()
    assert last.status_code == 403 and last.json()["code"] == "face_mismatch"


def _staff_token(client: TestClient, container: Container, username: str, *roles: str) -> str:
    staff.create(
        container.uow,
        container.clock,
        service.staff_policy(container),
        username=username,
        display_name=username,
        password=PASSWORD,
        roles=roles,
        actor="test",
    )
    response = client.post(
        "/api/v1/staff/auth/token", json={"username": username, "password": PASSWORD}
    )
    token: str = response.json()["access_token"]
    return token


def test_staff_review_opens_the_account(
    client: TestClient, clock: FixedClock, container: Container
) -> None:
    me = applicant(client, clock, "zhang_san")
    me.through_card()
    queued = me.post("/submit")
    assert queued.json()["state"] == "in_review" and queued.json()["next_step"] == "wait_for_review"
    operator = bearer(_staff_token(client, container, "li.ming", "operator"))
    reviewer = bearer(_staff_token(client, container, "chen.jing", "reviewer"))
    listed = client.get(
        "/api/v1/staff/applications", params={"state": "in_review"}, headers=operator
    )
    assert listed.json()["total"] == 1
    view = client.get(f"/api/v1/staff/applications/{me.app_id}", headers=operator)
    assert view.status_code == 200
    shown = view.json()
    assert "11010519491231002X" not in view.text and shown["id_number"] == "110105********002X"
    assert shown["review"]["reasons"] == [
        "id_number_outside_region",
        "id_address_in_region",
        "mobile_in_region",
    ]
    assert [c["kind"] for c in shown["checks"]][-1] == "risk"
    decision = {"decision": "approve", "reason": "在广东工作居住，同意"}
    denied = client.post(
        f"/api/v1/staff/applications/{me.app_id}/review", json=decision, headers=operator
    )
    assert denied.status_code == 403
    approved = client.post(
        f"/api/v1/staff/applications/{me.app_id}/review", json=decision, headers=reviewer
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "opened" and approved.json()["review"]["decided_by"] == (
        "chen.jing"
    )
    twice = client.post(
        f"/api/v1/staff/applications/{me.app_id}/review", json=decision, headers=reviewer
    )
    assert twice.status_code == 409 and twice.json()["code"] == "wrong_step"


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert f"{BASE}/{{application_id}}/card/code" in spec["paths"]
    assert "/api/v1/staff/applications/{application_id}/review" in spec["paths"]
    assert json.dumps(spec).count("provider_unavailable") >= 5


def test_a_replayed_upload_keeps_no_plaintext(
    client: TestClient, clock: FixedClock, container: Container
) -> None:
    me = applicant(client, clock, "wang_xiaoming")
    me.start()
    files = {
        "front": ("f.json", sandbox_payload("wang_xiaoming", "front")),
        "back": ("b.json", sandbox_payload("wang_xiaoming", "back")),
    }
    first = me.post("/id-card", files=files, headers={"Idempotency-Key": "up-1"})
    assert first.json()["recognised"]["id_number"] == "440106199003071231"
    replay = me.post("/id-card", files=files, headers={"Idempotency-Key": "up-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["recognised"]["id_number"] == "440106********1231"
    other = me.post("/submit", headers={"Idempotency-Key": "up-1"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    with container.engine.connect() as conn:
        stored = conn.execute(text("SELECT body FROM account_idempotency_keys")).scalar_one()
    assert "440106199003071231" not in str(stored) and "王小明" not in str(stored)
