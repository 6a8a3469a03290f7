"""Identity over HTTP: customer sign-in through the sandbox SMS outbox, sessions, staff sign-in,
permission checks (401 / 403 / 200, each audited) and the `greenbank staff create` bootstrap."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from greenbank.api import create_app
from greenbank.bootstrap import Container, build_container
from greenbank.clock import FixedClock
from greenbank.config import Environment, Settings
from greenbank.identity import service, staff

PHONE = "13812345678"
PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def read_code(client: TestClient, phone: str) -> str:
    messages = client.get("/api/v1/sandbox/sms", params={"phone": phone}).json()
    found = re.search(r"验证码为(\d{6})", messages[0]["text"])
    assert found, messages
    return found.group(1)


def sign_in(client: TestClient, phone: str = PHONE) -> dict[str, Any]:
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 200
    response = client.post(
        "/api/v1/auth/token", json={"phone": phone, "code": read_code(client, phone)}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_customer_signs_in_with_an_sms_code(client: TestClient) -> None:
    sent = client.post("/api/v1/auth/otp", json={"phone": "+86 138 1234 5678"})
    assert sent.status_code == 200
    assert sent.json()["phone_masked"] == "138****5678"
    assert PHONE not in sent.text
    outbox = client.get("/api/v1/sandbox/sms", params={"phone": PHONE}).json()
    assert outbox[0]["phone_masked"] == "138****5678" and outbox[0]["result_code"] == "OK"
    response = client.post(
        "/api/v1/auth/token", json={"phone": PHONE, "code": read_code(client, PHONE)}
    )
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["customer_id"] and PHONE not in response.text

    listed = client.get("/api/v1/auth/sessions", headers=bearer(tokens["access_token"]))
    assert listed.status_code == 200
    assert [(s["id"], s["current"]) for s in listed.json()] == [(tokens["session_id"], True)]

    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert fresh.status_code == 200
    new = fresh.json()
    assert new["session_id"] == tokens["session_id"] and new["customer_id"] == tokens["customer_id"]
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "session_revoked"
    gone = client.get("/api/v1/auth/sessions", headers=bearer(new["access_token"]))
    assert gone.status_code == 401 and gone.json()["code"] == "session_revoked"
    assert 'error="invalid_token"' in gone.headers["www-authenticate"]


def test_logout_and_revoking_another_session(client: TestClient, clock: FixedClock) -> None:
    first = sign_in(client)
    clock.advance(timedelta(minutes=1))
    second = sign_in(client)
    revoked = client.delete(
        f"/api/v1/auth/sessions/{first['session_id']}", headers=bearer(second["access_token"])
    )
    assert revoked.status_code == 204
    assert (
        client.get("/api/v1/auth/sessions", headers=bearer(first["access_token"])).status_code
        == 401
    )
    other = sign_in(client, "13912345678")
    refused = client.delete(
        f"/api/v1/auth/sessions/{other['session_id']}", headers=bearer(second["access_token"])
    )
    assert refused.status_code == 404 and refused.json()["code"] == "session_not_found"
    assert (
        client.post("/api/v1/auth/logout", headers=bearer(second["access_token"])).status_code
        == 204
    )
    after = client.get("/api/v1/auth/sessions", headers=bearer(second["access_token"]))
    assert after.json()["code"] == "session_revoked"


def test_wrong_code_and_missing_token(client: TestClient) -> None:
    client.post("/api/v1/auth/otp", json={"phone": PHONE})
    code = read_code(client, PHONE)
    wrong = client.post(
        "/api/v1/auth/token", json={"phone": PHONE, "code": f"{(int(code) + 1) % 10**6:06d}"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "otp_invalid" and wrong.json()["attempts_left"] == 4
    missing = client.get("/api/v1/auth/sessions")
    assert missing.status_code == 401 and missing.json()["code"] == "unauthorized"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    garbage = client.get("/api/v1/auth/sessions", headers=bearer("not-a-token"))
    assert garbage.status_code == 401 and garbage.json()["code"] == "unauthorized"


def test_rate_limit_carries_retry_after(client: TestClient) -> None:
    assert client.post("/api/v1/auth/otp", json={"phone": PHONE}).status_code == 200
    again = client.post("/api/v1/auth/otp", json={"phone": PHONE})
    assert again.status_code == 429
    assert again.json()["code"] == "otp_rate_limited"
    assert again.headers["retry-after"] == "60"


def test_sms_failure_is_a_clear_problem_and_leaves_no_usable_code(client: TestClient) -> None:
    failed = client.post("/api/v1/auth/otp", json={"phone": "13800000000"})
    assert failed.status_code == 502
    assert failed.json()["code"] == "sms_send_failed"
    assert failed.json()["vendor_code"] == "SMS_SEND_FAILED"
    for code in ("000000", "123456"):
        attempt = client.post("/api/v1/auth/token", json={"phone": "13800000000", "code": code})
        assert attempt.json()["code"] == "otp_invalid"
    malformed = client.post("/api/v1/auth/otp", json={"phone": "12345678901"})
    assert malformed.status_code == 422 and malformed.json()["code"] == "mobile_malformed"


def _staff(container: Container, username: str, *roles: str) -> None:
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


def _staff_token(client: TestClient, username: str, *, form: bool = False) -> str:
    credentials = {"username": username, "password": PASSWORD}
    response = (
        client.post("/api/v1/staff/auth/token", data={**credentials, "grant_type": "password"})
        if form
        else client.post("/api/v1/staff/auth/token", json=credentials)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_permission_checks_give_401_403_200_and_audit_each(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    _staff(container, "root", "admin")
    _staff(container, "li.ming", "operator")
    _staff(container, "audit.wang", "auditor")
    admin = _staff_token(client, "root")
    operator = _staff_token(client, "li.ming", form=True)
    auditor = _staff_token(client, "audit.wang")

    anonymous = client.get("/api/v1/staff/users")
    assert anonymous.status_code == 401 and "www-authenticate" in anonymous.headers
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    forbidden = client.get("/api/v1/staff/users", headers=bearer(operator))
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"
    assert forbidden.json()["permission"] == "staff.manage"
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    allowed = client.get("/api/v1/staff/users", headers=bearer(admin))
    assert allowed.status_code == 200
    assert [u["username"] for u in allowed.json()] == ["audit.wang", "li.ming", "root"]

    trail = client.get(
        "/api/v1/staff/audit", params={"action": "staff.users.list"}, headers=bearer(auditor)
    )
    assert trail.status_code == 200
    lines = [(line["actor"], line["outcome"]) for line in trail.json()["items"]]
    assert lines == [("root", "ok"), ("li.ming", "forbidden"), ("anonymous", "unauthorized")]
    assert trail.json()["items"][0]["detail"]["permission"] == "staff.manage"
    assert client.get("/api/v1/staff/audit", headers=bearer(admin)).status_code == 403


def test_admin_actions_record_their_outcome(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    _staff(container, "root", "admin", "auditor")
    admin = _staff_token(client, "root")
    new = {
        "username": "wang.fang",
        "display_name": "王芳",
        "password": PASSWORD,
        "roles": ["reviewer"],
    }
    created = client.post("/api/v1/staff/users", json=new, headers=bearer(admin))
    assert created.status_code == 201
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    assert created.json()["permissions"] == [
        "applications.review",
        "carbon.methodologies.approve",
        "customers.read",
        "partners.approve",
    ]
    taken = client.post("/api/v1/staff/users", json=new, headers=bearer(admin))
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    weak = client.post(
        "/api/v1/staff/users",
        json={**new, "username": "x.y", "password": "short"},
        headers=bearer(admin),
    )
    assert weak.json()["code"] == "weak_password"
    clock.advance(timedelta(seconds=1))
    empty = client.post("/api/v1/staff/users", json={}, headers=bearer(admin))
    assert empty.json()["code"] == "validation_failed"
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    roles = client.put(
        "/api/v1/staff/users/wang.fang/roles", json={"roles": ["auditor"]}, headers=bearer(admin)
    )
    assert roles.json()["roles"] == ["auditor"]
    clock.advance(timedelta(seconds=1))  # audit lines of successive requests stay ordered
    disabled = client.post("/api/v1/staff/users/wang.fang/disable", headers=bearer(admin))
    assert disabled.json()["status"] == "disabled"
    refused = client.post(
        "/api/v1/staff/auth/token", json={"username": "wang.fang", "password": PASSWORD}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "account_disabled"

    page = client.get(
        "/api/v1/staff/audit", params={"actor": "root", "limit": 3}, headers=bearer(admin)
    ).json()
    older = client.get(
        "/api/v1/staff/audit",
        params={"actor": "root", "limit": 50, "cursor": page["next_cursor"]},
        headers=bearer(admin),
    ).json()
    routes = [
        (line["action"], line["outcome"])
        for line in page["items"] + older["items"]
        if line["detail"].get("permission")
    ]
    assert routes == [
        ("staff.users.disable", "ok"),
        ("staff.users.roles", "ok"),
        ("staff.users.create", "validation_failed"),
        ("staff.users.create", "weak_password"),
        ("staff.users.create", "username_taken"),
        ("staff.users.create", "ok"),
    ]
    assert older["next_cursor"] is None
    bad = client.get("/api/v1/staff/audit", params={"cursor": "nope"}, headers=bearer(admin))
    assert bad.status_code == 422 and bad.json()["code"] == "bad_cursor"


def test_staff_me_and_wrong_password(client: TestClient, container: Container) -> None:
    _staff(container, "li.ming", "operator", "reviewer")
    token = _staff_token(client, "li.ming")
    me = client.get("/api/v1/staff/me", headers=bearer(token)).json()
    assert me["roles"] == ["operator", "reviewer"] and "customers.freeze" in me["permissions"]
    wrong = client.post(
        "/api/v1/staff/auth/token", json={"username": "li.ming", "password": "nope"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    customer = sign_in(client)
    as_staff = client.get("/api/v1/staff/me", headers=bearer(customer["access_token"]))
    assert as_staff.status_code == 401


def test_openapi_has_both_bearer_schemes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["CustomerBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["CustomerBearer"]["description"],
    }
    assert schemes["StaffBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/staff/auth/token"
    assert {"StaffBearer": []} in schema["paths"]["/api/v1/staff/users"]["get"]["security"]


def test_sandbox_outbox_is_hidden_in_production(tmp_path: Path, db_url: str) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        secret_key=SecretStr("a-real-secret-for-this-test"),
        database_url=db_url,
        var_dir=tmp_path,
        _env_file=None,  # type: ignore[call-arg]
    )
    container = build_container(settings)
    with TestClient(create_app(container=container)) as production:
        assert production.get("/api/v1/sandbox/sms", params={"phone": PHONE}).status_code == 404
        refused = production.post("/api/v1/auth/otp", json={"phone": PHONE})
        assert refused.status_code == 500 and refused.json()["code"] == "configuration_error"


@pytest.mark.slow
def test_cli_bootstraps_the_first_admin_who_signs_in_over_http(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENBANK_")}
    env |= {"GREENBANK_DATABASE_URL": url, "GREENBANK_ENVIRONMENT": "test", "COLUMNS": "200"}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "greenbank", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    assert cli("db", "upgrade").returncode == 0
    made = cli(
        "staff",
        "create",
        "--username",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    weak = cli(
        "staff",
        "create",
        "--username",
        "other",
        "--role",
        "admin",
        "--password-stdin",
        stdin="short\n",
    )
    assert (
        weak.returncode == 2 and "weak_password" in weak.stderr and "Traceback" not in weak.stderr
    )
    assert "root" in cli("staff", "list").stdout

    settings = Settings(
        environment=Environment.TEST,
        database_url=url,
        var_dir=tmp_path / "var",
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(container=build_container(settings))) as client:
        token = _staff_token(client, "root")
        users = client.get("/api/v1/staff/users", headers=bearer(token))
        assert users.status_code == 200
        assert users.json()[0]["created_by"].startswith("cli")
