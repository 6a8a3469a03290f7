"""The open API's acceptance tests (issue 9, "done when"):

* a request signed by the ``openssl`` command line alone is accepted, and its answer verifies
  with ``openssl`` too; the same request with one byte changed, or sent again, is refused with
  its own code, and nothing more is credited;
* the example metro partner (``examples/metro_partner.py``) reports trips for a customer who
  authorised it, the customer's carbon account is credited, and the partner receives verified,
  decrypted webhooks (a local server on 127.0.0.1, delivered by the embedded bus dispatcher).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from greenbank.bootstrap import Container
from greenbank.carbon.queries import summary
from greenbank.partners import gateway, registry
from greenbank.partners.gateway import Caller
from greenbank.partners.runtime import runtime

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "partners"))
sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
import metro_partner
from partner_support import authorised_customer, install_carbon, onboard, sdk

OPENSSL = shutil.which("openssl")
UID = "1234567812345678"
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command line not installed")


def sh(command: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; {command}"],
        cwd=cwd,
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout.strip()


def _openssl_partner(container: Container, work: Path) -> str:
    """A key pair made by openssl; staff register the public half. Returns the serial number,
    computed by openssl as the docs describe."""
    sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out key.pem", work)
    sh("openssl pkey -in key.pem -pubout -out pub.pem", work)
    registry.create(
        container,
        actor="maker",
        partner_id="metro-ossl",
        profile=registry.Profile(name="Metro (openssl)", sandbox=False, scenarios=["metro_trip"]),
        public_key_pem=(work / "pub.pem").read_text(),
    )
    registry.approve(container, actor="checker", partner_id="metro-ossl")
    digest = sh("openssl pkey -pubin -in pub.pem -outform DER | openssl dgst -sm3 -r", work)
    return digest.split()[0][:40].upper()


def _openssl_sign(work: Path, message: bytes) -> str:
    (work / "message.txt").write_bytes(message)
    return sh(
        f"openssl dgst -sm3 -sign key.pem -sigopt distid:{UID} message.txt | openssl base64 -A",
        work,
    )


@needs_openssl
def test_a_request_signed_with_openssl_alone_is_accepted_and_tampering_or_replay_is_not(
    client: TestClient, container: Container, tmp_path: Path
) -> None:
    install_carbon(container)
    serial = _openssl_partner(container, tmp_path)
    caller = Caller("metro-ossl", False, ("metro_trip",), serial)
    token, _ = authorised_customer(container, caller, "rider-1")
    timestamp = str(int(container.clock.now().timestamp()))
    nonce = "n0nce4openssl0000000000000000001"
    path = "/api/v1/open/events"
    body = json.dumps(
        {
            "event_id": "gate-0001",
            "customer_token": token,
            "scenario": "metro_trip",
            "occurred_at": container.clock.now().isoformat(),
            "inputs": {"distance_km": "12.5"},
        },
        separators=(",", ":"),
    ).encode()
    message = f"POST\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = _openssl_sign(tmp_path, message)
    headers = {
        "Authorization": (
            f'GREENBANK-SM2-WITH-SM3 partner_id="metro-ossl",nonce_str="{nonce}",'
            f'timestamp="{timestamp}",serial_no="{serial}",signature="{signature}"'
        ),
        "Content-Type": "application/json",
        "Idempotency-Key": "gate-0001-attempt",
    }

    accepted = client.post(path, content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["credited_mg"]) == ("accepted", 583_750)

    # The answer is signed by the platform key: openssl verifies it as well.
    (tmp_path / "platform.pem").write_text(runtime(container).keys.current.public_pem)
    (tmp_path / "answer.txt").write_bytes(
        f"{accepted.headers['greenbank-timestamp']}\n{accepted.headers['greenbank-nonce']}\n".encode()
        + accepted.content
        + b"\n"
    )
    (tmp_path / "answer.sig").write_bytes(base64.b64decode(accepted.headers["greenbank-signature"]))
    verified = sh(
        f"openssl dgst -sm3 -verify platform.pem -sigopt distid:{UID} "
        "-signature answer.sig answer.txt",
        tmp_path,
    )
    assert verified == "Verified OK"

    tampered = body.replace(b'"12.5"', b'"92.5"')
    assert len(tampered) == len(body)
    changed = client.post(
        path, content=tampered, headers={**headers, "Idempotency-Key": "x-12345678"}
    )
    assert (changed.status_code, changed.json()["code"]) == (401, "signature_invalid")

    replayed = client.post(path, content=body, headers=headers)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "nonce_replayed")

    totals = summary(container.uow, container.clock, customer_id="rider-1")
    assert totals.lifetime_mg == 583_750  # credited once, never for the refused requests
    codes = [row["code"] for row in _partner_log(client, container)]
    assert codes[:2] == ["nonce_replayed", "signature_invalid"]


def _partner_log(client: TestClient, container: Container) -> list[dict[str, object]]:
    return [
        {"code": row.code, "status": row.status}
        for row in gateway.refusals(container, "metro-ossl")
    ]


def test_the_example_metro_partner_is_credited_and_receives_verified_webhooks(
    client: TestClient, container: Container
) -> None:
    install_carbon(container)
    partner = onboard(container, "metro-demo", sandbox=True)
    partner_client = sdk(container, client, partner)
    clock = container.clock

    result = metro_partner.run(
        partner_client, client, now=lambda: clock.now().timestamp(), wait_s=15
    )

    reported = result["reported"]
    assert (reported["accepted"], reported["rejected"]) == (3, 0)
    # 12.5, 8.2 and 21.0 km at 46.7 g/pkm: 583.75 g + 382.94 g + 980.7 g.
    credited = [item["credited_mg"] for item in reported["results"]]
    assert credited == [583_750, 382_940, 980_700]
    assert result["total"]["lifetime_mg"] == 1_947_390
    assert result["refused_callbacks"] == []
    notices = result["callbacks"]
    assert len(notices) == 3
    assert {n["event_type"] for n in notices} == {"event.credited"}
    by_event = {n["resource"]["event_id"]: n["resource"] for n in notices}
    assert {item["event_id"] for item in reported["results"]} == set(by_event)
    assert sorted(r["credited_mg"] for r in by_event.values()) == sorted(credited)
    assert {r["authorisation_id"] for r in by_event.values()} == {result["authorisation_id"]}
