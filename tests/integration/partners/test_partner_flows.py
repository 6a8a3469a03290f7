"""Flows of the open API: onboarding under maker-checker over HTTP, key rotation on both sides,
the consent flow with a phone hint, revocation, and webhooks retried with back-off and logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from partner_support import authorised_customer, install_carbon, onboard, sdk

from greenbank.api import create_app
from greenbank.bootstrap import Container
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher
from greenbank.carbon import consent
from greenbank.clock import FixedClock
from greenbank.crypto import SM2PrivateKey
from greenbank.customers.registry import get_or_create_by_phone
from greenbank.identity import sessions, staff
from greenbank.identity.service import staff_policy, token_policy
from greenbank.identity.sessions import PrincipalKind
from greenbank.partners.consumers import WEBHOOK_CONSUMER
from greenbank.partners.signing import key_serial, rotate_platform_key
from greenbank_sdk import ApiError, load_private_key

PASSWORD = "correct horse battery staple"


@pytest.fixture
def http(container: Container) -> Iterator[TestClient]:
    """The app without its embedded dispatcher: the tests deliver webhooks themselves."""
    container.settings.bus_embedded_dispatcher = False
    with TestClient(create_app(container=container), raise_server_exceptions=False) as client:
        yield client


def _bearer(container: Container, customer_id: str) -> dict[str, str]:
    with container.uow() as uow:
        issued = sessions.open_session(
            uow.session,
            container.clock,
            token_policy(container, PrincipalKind.CUSTOMER),
            kind=PrincipalKind.CUSTOMER,
            principal_id=customer_id,
        )
        uow.commit()
    return {"Authorization": f"Bearer {issued.access_token}"}


def _staff(http: TestClient, container: Container, username: str, role: str) -> dict[str, str]:
    staff.create(
        container.uow,
        container.clock,
        staff_policy(container),
        username=username,
        display_name=username,
        password=PASSWORD,
        roles=[role],
        actor="test",
    )
    answer = http.post(
        "/api/v1/staff/auth/token", json={"username": username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_staff_onboard_a_partner_under_maker_checker(
    http: TestClient, container: Container
) -> None:
    maker = _staff(http, container, "mia", "product_manager")
    checker = _staff(http, container, "rex", "reviewer")
    pem = SM2PrivateKey.generate().public_key().to_pem().decode()
    body = {
        "id": "metro-gz",
        "name": "Guangzhou Metro",
        "sandbox": False,
        "scenarios": ["metro_trip"],
        "public_key_pem": pem,
        "ip_allow_list": ["203.0.113.0/24"],
    }
    made = http.post("/api/v1/staff/partners", json=body, headers=maker)
    assert made.status_code == 201, made.text
    assert (made.json()["status"], made.json()["ip_allow_list"]) == (
        "pending_approval",
        ["203.0.113.0/24"],
    )
    refused = http.post("/api/v1/staff/partners/metro-gz/approve", json={}, headers=maker)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    approved = http.post("/api/v1/staff/partners/metro-gz/approve", json={}, headers=checker)
    assert approved.json()["status"] == "active"
    change = {
        **{k: body[k] for k in ("name", "sandbox", "scenarios")},
        "rate_limit_per_minute": 1200,
    }
    staged = http.post("/api/v1/staff/partners/metro-gz/changes", json=change, headers=maker)
    assert staged.json()["pending_change"] == {"ip_allow_list": [], "rate_limit_per_minute": 1200}
    applied = http.post("/api/v1/staff/partners/metro-gz/changes/approve", json={}, headers=checker)
    assert (applied.json()["rate_limit_per_minute"], applied.json()["pending_change"]) == (
        1200,
        None,
    )


def test_the_checker_must_be_another_person(container: Container) -> None:
    from greenbank.partners import registry
    from greenbank.partners.errors import MakerChecker

    pem = SM2PrivateKey.generate().public_key().to_pem().decode()
    registry.create(
        container,
        actor="ann",
        partner_id="solo",
        public_key_pem=pem,
        profile=registry.Profile(name="Solo", scenarios=["metro_trip"]),
    )
    with pytest.raises(MakerChecker):
        registry.approve(container, actor="ann", partner_id="solo")


def test_partners_rotate_their_keys_without_downtime(
    http: TestClient, container: Container
) -> None:
    partner = onboard(container)
    api = sdk(container, http, partner)
    newer = SM2PrivateKey.generate()
    added = api.request(
        "POST", "keys", json_body={"public_key_pem": newer.public_key().to_pem().decode()}
    )
    assert added["serial_no"] == key_serial(newer.public_key())
    api.request("GET", "webhooks")  # the old key still works
    rotated = sdk(container, http, partner)
    rotated.serial_no, rotated._signer = added["serial_no"], load_private_key(newer.to_pem())
    rotated.request("DELETE", f"keys/{partner.serial}")
    with pytest.raises(ApiError) as old:
        api.request("GET", "webhooks")
    assert old.value.code == "serial_unknown"
    with pytest.raises(ApiError) as last:
        rotated.request("DELETE", f"keys/{added['serial_no']}")
    assert last.value.code == "partner_last_key"


def test_partners_follow_a_platform_key_rotation(http: TestClient, container: Container) -> None:
    partner = onboard(container)
    api = sdk(container, http, partner)
    [old] = list(api.platform_keys)
    rotate_platform_key(container.settings)
    with pytest.raises(Exception, match="unknown platform key"):
        api.request("GET", "webhooks")  # signed by a key the partner has not met yet
    keys = api.refresh_platform_keys()  # endorsed by the old key, so trusted
    assert len(keys) == 2 and old in keys
    api.request("GET", "webhooks")


def test_a_phone_hint_binds_the_request_to_that_customer(
    http: TestClient, container: Container
) -> None:
    install_carbon(container)
    partner = onboard(container)
    api = sdk(container, http, partner)
    with container.uow() as uow:
        named = get_or_create_by_phone(
            uow.session, container.keyring, container.clock, "13812345678"
        ).id
        other = get_or_create_by_phone(
            uow.session, container.keyring, container.clock, "13900001111"
        ).id
        uow.commit()
    for customer in (named, other):
        consent.open_account(
            container.uow,
            container.clock,
            customer_id=customer,
            accept_terms=True,
            terms_version=consent.TERMS_VERSION,
        )
    asked = api.create_authorization(scenarios=["metro_trip"], state="st-1", phone="138 1234 5678")
    approve = asked["authorize_path"] + "/approve"
    wrong = http.post(approve, headers=_bearer(container, other))
    assert (wrong.status_code, wrong.json()["code"]) == (403, "authorisation_customer_mismatch")
    shown = http.get(asked["authorize_path"], headers=_bearer(container, named)).json()
    assert (shown["partner_name"], shown["scenarios"]) == ("metro-sz metro", ["metro_trip"])
    code = http.post(approve, headers=_bearer(container, named)).json()
    assert code["state"] == "st-1"
    grant = api.exchange_code(code["code"])
    assert grant["customer_token"].startswith("gbc_") and grant["scenarios"] == ["metro_trip"]
    with pytest.raises(ApiError) as again:
        api.exchange_code(code["code"])
    assert again.value.code == "authorisation_code_invalid"
    mine = http.get("/api/v1/me/partner-authorisations", headers=_bearer(container, named)).json()
    assert [(m["partner_id"], m["status"]) for m in mine] == [("metro-sz", "active")]


def test_sandbox_partners_work_only_with_sandbox_customers(
    http: TestClient, container: Container
) -> None:
    install_carbon(container)
    live = sdk(container, http, onboard(container, "live-metro", sandbox=False))
    with pytest.raises(ApiError) as refused:
        live.request("POST", "sandbox/customers")
    assert refused.value.code == "sandbox_mismatch"
    sandbox = sdk(container, http, onboard(container, "test-metro", sandbox=True))
    rider = sandbox.request("POST", "sandbox/customers")
    asked = live.create_authorization(scenarios=["metro_trip"], state="s")
    crossed = http.post(
        asked["authorize_path"] + "/approve",
        headers={"Authorization": f"Bearer {rider['access_token']}"},
    )
    assert (crossed.status_code, crossed.json()["code"]) == (403, "sandbox_mismatch")


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering with the statuses it is given, in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.bodies = statuses, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.bodies.append(
                    (
                        dict(self.headers.items()),
                        self.rfile.read(int(self.headers["Content-Length"])),
                    )
                )
                self.send_response(outer.statuses.pop(0) if outer.statuses else 204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cb"


def test_revocation_reaches_the_partner_after_a_failed_attempt(
    http: TestClient, container: Container
) -> None:
    install_carbon(container)
    partner = onboard(container, sandbox=True)
    api = sdk(container, http, partner)
    api.set_api_secret("s3cret-for-callbacks-0123456789abcdef")
    receiver = Receiver([500])
    api.subscribe(receiver.url, ["authorisation.revoked"])
    rider = api.request("POST", "sandbox/customers")
    token, authorisation_id = authorised_customer(
        container, partner.caller, rider["customer_id"], open_account=False
    )
    revoked = http.delete(
        f"/api/v1/me/partner-authorisations/{authorisation_id}",
        headers=_bearer(container, rider["customer_id"]),  # the sandbox token expired meanwhile
    )
    assert revoked.json()["status"] == "revoked"
    assert (
        consent.list_consents(container.uow, customer_id=rider["customer_id"], active_only=True)
        == []
    )
    with pytest.raises(ApiError) as dead:
        api.carbon_total(token)
    assert dead.value.code == "authorisation_revoked"

    dispatcher = Dispatcher(container, consumers=ConsumerRegistry([REGISTRY.get(WEBHOOK_CONSUMER)]))
    dispatcher.run_once()  # the partner answers 500: retried later
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(seconds=2))  # past the first back-off (at most 1 s)
    dispatcher.run_once()
    [delivery] = api.request("GET", "webhooks/deliveries")
    assert [a["http_status"] for a in delivery["attempts"]] == [500, 204]
    assert delivery["delivered_at"] is not None
    headers, body = receiver.bodies[-1]
    notice = api.open_callback(headers, body)
    assert notice["event_type"] == "authorisation.revoked"
    assert notice["resource"]["authorisation_id"] == authorisation_id
    dispatcher.run_once()
    assert len(receiver.bodies) == 2  # delivered once, never again
    receiver.server.shutdown()
