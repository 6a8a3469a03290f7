"""Bad input and attacks over HTTP: each refusal has its own code and status, is signed by the
platform, is logged for the partner, and ingests nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from partner_support import PartnerUnderTest, authorised_customer, install_carbon, onboard, sdk
from sqlalchemy import func, select
from tests.postgres_support import prepared_statements

from greenbank.bootstrap import Container, build_container
from greenbank.carbon.models import EventRow
from greenbank.clock import FixedClock
from greenbank.config import Settings
from greenbank.partners import authorisations, gateway
from greenbank_sdk import ApiError, GreenbankClient
from greenbank_sdk.client import new_nonce


@dataclass
class World:
    http: TestClient
    container: Container
    partner: PartnerUnderTest
    api: GreenbankClient
    token: str
    authorisation_id: str

    def event(self, event_id: str = "trip-1", **extra: Any) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "customer_token": self.token,
            "scenario": "metro_trip",
            "occurred_at": self.container.clock.now().isoformat(),
            "inputs": {"distance_km": "12.5"},
            **extra,
        }

    def refused(self, call: Any) -> tuple[int, str]:
        with pytest.raises(ApiError) as err:
            call()
        return err.value.status, err.value.code

    def raw(self, method: str, path: str, body: bytes, **headers: str) -> Any:
        """A hand-made request, signed correctly unless the caller overrides the header."""
        sent = {"Authorization": self.api.authorization(method, path, body), **headers}
        return self.http.request(method, path, content=body, headers=sent)

    def carbon_events(self) -> int:
        with self.container.uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(EventRow)) or 0)

    def logged(self) -> list[str]:
        return [row.code for row in gateway.refusals(self.container, self.partner.id)]


@pytest.fixture
def world(client: TestClient, container: Container) -> Iterator[World]:
    install_carbon(container)
    partner = onboard(container, rate_limit=20)
    token, authorisation_id = authorised_customer(container, partner.caller)
    yield World(
        client, container, partner, sdk(container, client, partner), token, authorisation_id
    )


def test_a_signed_event_is_credited_and_its_retry_is_answered_from_memory(world: World) -> None:
    first = world.api.report_event(world.event(), idempotency_key="trip-1-report")
    assert (first["status"], first["credited_mg"]) == ("accepted", 583_750)
    again = world.api.report_event(world.event(), idempotency_key="trip-1-report")
    assert again == first
    resent = world.api.report_event(world.event(), idempotency_key="trip-1-resent")
    assert (resent["status"], resent["reason"]) == ("rejected", "duplicate")
    assert world.carbon_events() == 1
    status = world.api.event_status("trip-1")
    assert (status["status"], status["credited_mg"]) == ("accepted", 583_750)
    total = world.api.carbon_total(world.token)
    assert total["lifetime_mg"] == 583_750 and total["authorisation_id"] == world.authorisation_id


def test_authentication_refusals_each_have_their_code(world: World) -> None:
    path, body = "/api/v1/open/events", b"{}"
    good = world.api.authorization("POST", path, body)
    cases = {
        "signature_missing": {"Authorization": ""},
        "authorization_malformed": {"Authorization": "GREENBANK-SM2-WITH-SM3 partner_id=x"},
        "partner_unknown": {"Authorization": good.replace('"metro-sz"', '"metro-xx"')},
        "serial_unknown": {"Authorization": good.replace(world.partner.serial, "A" * 40)},
    }
    for code, headers in cases.items():
        answer = world.http.post(
            path, content=body, headers={**headers, "Idempotency-Key": "k-12345678"}
        )
        assert (answer.status_code, answer.json()["code"]) == (401, code), code
        assert answer.headers["www-authenticate"] == "GREENBANK-SM2-WITH-SM3"
        assert "greenbank-signature" in answer.headers  # refusals are signed too
    clock = world.container.clock
    assert isinstance(clock, FixedClock)
    stale = world.api.authorization("POST", path, body)
    clock.advance(timedelta(minutes=5, seconds=1))
    late = world.http.post(
        path, content=body, headers={"Authorization": stale, "Idempotency-Key": "k-12345678"}
    )
    assert (late.status_code, late.json()["code"]) == (401, "timestamp_expired")
    # The partner sees the refusals that named it; the others are in the bank's log.
    assert world.logged() == ["timestamp_expired", "serial_unknown"]
    assert [r.code for r in gateway.refusals(world.container, "metro-xx")] == ["partner_unknown"]
    assert world.carbon_events() == 0


def test_request_shape_refusals(world: World) -> None:
    path = "/api/v1/open/events"
    malformed = world.raw("POST", path, b'{"event_id": ', **{"Idempotency-Key": "k-12345678"})
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_json")
    keyless = world.raw("POST", path, b"{}")
    assert (keyless.status_code, keyless.json()["code"]) == (422, "validation_failed")
    no_key = world.raw(
        "POST",
        path,
        b'{"x": 1}'.replace(b'{"x": 1}', json.dumps(world.event()).encode()),
    )
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_missing")
    too_many = {"events": [world.event(f"t{i}") for i in range(501)]}
    assert world.refused(lambda: world.api.report_events(too_many["events"])) == (
        413,
        "batch_too_large",
    )
    outside = world.event(scenario="recycling", inputs={})
    assert world.refused(lambda: world.api.report_event(outside)) == (403, "scenario_not_allowed")
    unauthorised = world.event(scenario="bike_trip")
    assert world.refused(lambda: world.api.report_event(unauthorised)) == (
        403,
        "scenario_not_authorised",
    )
    world.api.report_event(world.event("t-1"), idempotency_key="same-key-001")
    reused = lambda: world.api.report_event(world.event("t-2"), idempotency_key="same-key-001")  # noqa: E731
    assert world.refused(reused) == (409, "idempotency_key_reused")
    assert world.carbon_events() == 1
    assert {
        "malformed_json",
        "batch_too_large",
        "scenario_not_allowed",
        "idempotency_key_reused",
    } <= set(world.logged())


def test_tokens_are_bound_to_their_partner_and_die_with_revocation(
    world: World, container: Container
) -> None:
    other = onboard(container, "bike-sz", scenarios=["metro_trip", "bike_trip"])
    thief = sdk(container, world.http, other)
    assert world.refused(lambda: thief.report_event(world.event())) == (403, "token_wrong_partner")
    assert world.refused(lambda: thief.carbon_total(world.token)) == (403, "token_wrong_partner")
    unknown = world.event(customer_token="gbc_" + "x" * 43)
    assert world.refused(lambda: world.api.report_event(unknown)) == (404, "customer_token_unknown")
    authorisations.revoke(container, customer_id="cust-1", authorisation_id=world.authorisation_id)
    assert world.refused(lambda: world.api.report_event(world.event())) == (
        403,
        "authorisation_revoked",
    )
    assert world.carbon_events() == 0


def test_a_batch_answers_per_item(world: World) -> None:
    events = [
        world.event("b-1"),
        world.event("b-2", customer_token="gbc_" + "y" * 43),
        world.event("b-3", inputs={"distance_km": "-1"}),
        world.event("b-1"),
    ]
    answer = world.api.report_events(events)
    assert (answer["accepted"], answer["rejected"]) == (1, 3)
    assert [(r["status"], r["reason"]) for r in answer["results"]] == [
        ("accepted", None),
        ("rejected", "customer_token_unknown"),
        ("rejected", "malformed"),
        ("rejected", "duplicate"),
    ]


def test_the_rate_limit_and_the_allow_list(world: World, container: Container) -> None:
    for _ in range(20):
        world.api.request("GET", "webhooks")
    assert world.refused(lambda: world.api.request("GET", "webhooks")) == (
        429,
        "partner_rate_limited",
    )
    fenced = onboard(container, "fenced", ip_allow_list=["203.0.113.0/24"])
    outsider = sdk(container, world.http, fenced)  # the test client calls from 'testclient'
    assert world.refused(lambda: outsider.request("GET", "webhooks")) == (403, "ip_not_allowed")


def test_replayed_nonce_is_refused(world: World) -> None:
    body = json.dumps(world.event()).encode()
    header = world.api.authorization("POST", "/api/v1/open/events", body)
    sent = {"Authorization": header, "Idempotency-Key": "nonce-test-1"}
    assert world.http.post("/api/v1/open/events", content=body, headers=sent).status_code == 200
    again = world.http.post("/api/v1/open/events", content=body, headers=sent)
    assert (again.status_code, again.json()["code"]) == (401, "nonce_replayed")
    assert new_nonce() != new_nonce()


@pytest.mark.postgres_only
def test_signature_look_ups_keep_the_connections_prepared_statements(
    world: World, settings: Settings, clock: FixedClock
) -> None:
    """Every partner request looks up its partner and key: the look-up ends with COMMIT, because
    a ROLLBACK makes psycopg drop the pooled connection's prepared statements (ADR 0012). On a
    container of its own: the app's embedded dispatcher shares the fixture's pool."""
    path, body = "/api/v1/open/events", b"{}"
    own = build_container(settings, clock=clock)  # one pooled connection, used by this test only
    try:
        for _ in range(6):  # psycopg prepares a statement on its 5th run
            gateway.authenticate(
                own,
                header=world.api.authorization("POST", path, body),
                method="POST",
                path=path,
                body=body,
                client_ip="127.0.0.1",
            )
        prepared = prepared_statements(own)
    finally:
        own.close()
    assert [s for s in prepared if "FROM partner_keys" in s], prepared
    assert [s for s in prepared if "FROM partners" in s], prepared


def test_a_reader_refuses_to_write(world: World) -> None:
    with (
        pytest.raises(RuntimeError, match="must not write"),
        gateway.reader(world.container) as session,
    ):
        session.add(EventRow())  # never flushed: the reader refuses before committing
    assert world.carbon_events() == 0


def test_racing_copies_of_one_request_pass_once(world: World) -> None:
    """Eight threads present the same signed request at once: one gets through, seven are
    replays — on PostgreSQL the nonce's primary key decides, on SQLite the write lock."""
    body = json.dumps(world.event()).encode()
    header = world.api.authorization("POST", "/api/v1/open/events", body)
    outcomes: list[str] = []

    def present() -> None:
        try:
            gateway.authenticate(
                world.container,
                header=header,
                method="POST",
                path="/api/v1/open/events",
                body=body,
                client_ip="127.0.0.1",
            )
            outcomes.append("ok")
        except Exception as err:
            outcomes.append(getattr(err, "code", type(err).__name__))

    threads = [threading.Thread(target=present) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["nonce_replayed"] * 7 + ["ok"]
