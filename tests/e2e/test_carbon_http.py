"""The carbon account over HTTP: open with consent, a deposit purchase on the bus credited and
explained (89 g, provisional), consents, history, statement, rank, card, and the staff side
(maker-checker publication, re-computation, rejections, totals, anomalies)."""

from __future__ import annotations

import copy
import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from test_identity_http import _staff, _staff_token, bearer, sign_in

from greenbank.bootstrap import Container
from greenbank.bus import publish
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher
from greenbank.carbon import queries
from greenbank.carbon.catalog import install_v1, version_1_entries
from greenbank.carbon.consumers import CREDIT_CONSUMER
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.pipeline import RawEvent
from greenbank.clock import FixedClock
from greenbank.deposits.events import DepositPurchased

API = "/api/v1/carbon"


def _open(client: TestClient, container: Container) -> tuple[dict[str, str], str]:
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="test")
        uow.commit()
    tokens = sign_in(client)
    headers = bearer(tokens["access_token"])
    refused = client.post(
        f"{API}/account", json={"accept_terms": False, "terms_version": "x"}, headers=headers
    )
    assert refused.status_code == 422 and refused.json()["code"] == "carbon_terms_not_accepted"
    terms = client.get(f"{API}/terms").json()["version"]
    opened = client.post(
        f"{API}/account",
        json={"accept_terms": True, "terms_version": terms, "bank_scenarios": ["online_deposit"]},
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    return headers, tokens["customer_id"]


def _deliver_purchase(container: Container, customer_id: str, holding: str) -> None:
    with container.uow() as uow:
        publish(
            uow.session,
            DepositPurchased(
                holding_id=holding,
                customer_id=customer_id,
                product_code="TD1Y",
                amount_fen=1_000_000,
                term="1Y",
                purchased_at=container.clock.now(),
            ),
            aggregate_type="holding",
            aggregate_id=holding,
            clock=container.clock,
        )
        uow.commit()
    import greenbank.carbon.consumers  # noqa: F401

    credit = REGISTRY.get(CREDIT_CONSUMER)
    assert credit is not None
    Dispatcher(container, consumers=ConsumerRegistry([credit])).drain()
    # The app's embedded dispatcher may have claimed the delivery first: wait for it.
    deadline = time.monotonic() + 2
    while not queries.history(container.uow, customer_id=customer_id)[0]:
        assert time.monotonic() < deadline, "the purchase was not credited"
        time.sleep(0.01)


def test_deposit_purchase_is_credited_and_explained(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    headers, customer = _open(client, container)
    clock.advance(timedelta(minutes=5))
    _deliver_purchase(container, customer, "h1")
    account = client.get(f"{API}/account", headers=headers).json()
    assert (account["lifetime_mg"], account["lifetime_g"], account["points_balance"]) == (
        89_000,
        "89",
        8,
    )
    page = client.get(f"{API}/entries", headers=headers).json()
    [entry] = page["items"]
    assert (entry["co2e_g"], entry["provisional"]) == ("89", True)
    explained = client.get(f"{API}/entries/{entry['id']}/explanation", headers=headers).json()
    assert explained["note"].startswith("89 g from the 线上存款（替代柜台办理） methodology")
    assert explained["provisional"] is True
    assert [(p["name"], p["value"], p["status"]) for p in explained["parameters"]] == [
        ("factor_g_per_transaction", "89", "provisional")
    ]
    statement = client.get(f"{API}/statements/2026-03", headers=headers).json()
    assert (statement["total_mg"], statement["provisional_mg"]) == (89_000, 89_000)
    assert client.get(f"{API}/rank", headers=headers).json()["code"] == "carbon_rank_not_enabled"
    client.put(f"{API}/settings", json={"rank_opt_in": True}, headers=headers)
    assert client.get(f"{API}/rank", headers=headers).json() == {
        "percentile": "100.0",
        "accounts": 1,
    }
    png = client.get(f"{API}/card.png", headers=headers)
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    svg = client.get(f"{API}/card.svg", headers=headers).text
    assert "绿色生活名片" in svg and "累计减排 0.09 kg" in svg
    public = client.get(f"{API}/cards/{account['card_public_id']}").json()
    assert (public["lifetime_kg"], public["level"]) == ("0.09", "绿芽")
    assert client.get(f"{API}/cards/nope").status_code == 404
    # The QR code's page, for people: the same figures, from the database.
    assert public["verify_url"].endswith(f"/verify/card/{account['card_public_id']}")
    page = client.get(f"/verify/card/{account['card_public_id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "0.09 kg CO2e" in page.text and "绿芽" in page.text
    assert public["masked_name"] in page.text
    missing = client.get("/verify/card/nope")
    assert missing.status_code == 404 and "0.09" not in missing.text


def test_consents_can_be_listed_granted_and_revoked(
    client: TestClient, container: Container
) -> None:
    headers, _ = _open(client, container)
    granted = client.post(
        f"{API}/consents",
        json={"source": "metro-sz", "scenarios": ["metro_trip"]},
        headers=headers,
    )
    assert granted.status_code == 201
    [consent] = granted.json()
    revoked = client.delete(f"{API}/consents/{consent['id']}", headers=headers).json()
    assert revoked["active"] is False
    active = client.get(f"{API}/consents", params={"active": True}, headers=headers).json()
    assert [(c["source"], c["scenario"]) for c in active] == [("bank", "online_deposit")]
    bad = client.post(
        f"{API}/consents", json={"source": "bank", "scenarios": ["flying"]}, headers=headers
    )
    assert bad.json()["code"] == "carbon_unknown_scenario"
    assert client.get(f"{API}/account").status_code == 401


def _v2() -> dict[str, Any]:
    [v1] = [e for e in version_1_entries() if e["scenario"] == "online_deposit"]
    v2 = copy.deepcopy(v1)
    v2.update(version=2, effective_from="2026-03-01")
    v2["parameters"][0]["value"] = "95"
    v2["examples"] = [{"inputs": {}, "expected_g": "95"}]
    return v2


def test_staff_publish_with_maker_checker_and_recompute(
    client: TestClient, container: Container, clock: FixedClock
) -> None:
    headers, customer = _open(client, container)
    clock.advance(timedelta(minutes=5))
    _deliver_purchase(container, customer, "h1")
    ingest_events(
        container.uow,
        container.clock,
        [
            RawEvent("bank", "x", customer, "online_deposit", clock.now(), {"n": 1}),
            RawEvent("bank", "y", "stranger", "online_deposit", clock.now()),
        ],
    )
    _staff(container, "pm.zhang", "product_manager")
    _staff(container, "rev.li", "reviewer")
    pm, rev = bearer(_staff_token(client, "pm.zhang")), bearer(_staff_token(client, "rev.li"))
    draft = client.post(f"{API}/staff/methodologies", json={"definition": _v2()}, headers=pm)
    assert draft.status_code == 201, draft.text
    version_id = draft.json()["id"]
    assert (
        client.post(f"{API}/staff/methodologies/{version_id}/approve", headers=pm).status_code
        == 403
    )
    client.post(f"{API}/staff/methodologies/{version_id}/submit", headers=pm)
    pending = client.get(f"{API}/staff/methodologies/pending", headers=rev).json()
    assert [p["id"] for p in pending] == [version_id]
    approved = client.post(f"{API}/staff/methodologies/{version_id}/approve", headers=rev).json()
    assert (approved["status"], approved["recompute_needed"]) == ("published", True)
    run = client.post(
        f"{API}/staff/recomputations", json={"scenario": "online_deposit", "version": 2}, headers=pm
    ).json()
    assert (run["status"], run["delta_mg"]) == ("done", 6_000)
    assert run["report"] == [
        {"customer_id": customer, "events": 1, "old_mg": 89_000, "new_mg": 95_000}
    ]
    assert client.get(f"{API}/account", headers=headers).json()["lifetime_mg"] == 95_000

    _staff(container, "ana", "auditor")
    reader = bearer(_staff_token(client, "ana"))
    rejected = client.get(f"{API}/staff/rejections", headers=reader).json()["items"]
    assert sorted(r["reason"] for r in rejected) == ["malformed", "unconsented"]
    totals = client.get(f"{API}/staff/totals", headers=reader).json()
    assert sum(t["co2e_mg"] for t in totals) == 95_000
    assert client.get(f"{API}/staff/anomalies", headers=reader).status_code == 200
    assert client.get(f"{API}/staff/rejections", headers=pm).status_code == 200  # reports.read
    assert client.get(f"{API}/staff/totals", headers=headers).status_code == 401
