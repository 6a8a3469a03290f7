"""An example partner: a metro operator that reports its riders' trips to greenbank.

It uses only the SDK (``greenbank_sdk``) and HTTP. In the sandbox it walks the whole flow:

1. set its API secret (SM2-encrypted to the platform key) and subscribe a webhook served by a
   small HTTP server on 127.0.0.1;
2. create a sandbox customer, ask for the customer's authorisation of ``metro_trip`` and approve
   it as that customer would in the greenbank app;
3. exchange the code for the customer token, report a batch of trips, read the carbon total;
4. wait for the callbacks, verify the platform signature and decrypt each one.

Run against a server (``greenbank serve``) where staff onboarded ``metro-demo`` in sandbox mode
with the public half of ``partner_key.pem``::

    python examples/metro_partner.py --base-url http://127.0.0.1:8000 --partner-id metro-demo \\
        --key partner_key.pem --platform-key platform_sm2_public.pem
"""

from __future__ import annotations

import argparse
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from greenbank_sdk import GreenbankClient, key_serial, load_private_key, load_public_key

TRIPS_KM = ("12.5", "8.2", "21.0")


class CallbackReceiver:
    """The partner's webhook endpoint: verifies and decrypts every callback it receives."""

    def __init__(self, client: GreenbankClient) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.refused: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    notice = client.open_callback(dict(self.headers.items()), body)
                except Exception as err:  # a forged or garbled callback: refuse it
                    receiver.refused.append(str(err))
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.received.put(notice)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/greenbank/callbacks"

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        notices: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(notices) < count and time.monotonic() < deadline:
            try:
                notices.append(self.received.get(timeout=0.05))
            except queue.Empty:
                continue
        return notices


def run(
    client: GreenbankClient,
    http: httpx.Client,
    *,
    now: Callable[[], float] = time.time,
    wait_s: float = 10.0,
) -> dict[str, Any]:
    """The sandbox walk-through; returns what happened at each step."""
    client.set_api_secret(secrets.token_urlsafe(36))
    with CallbackReceiver(client) as receiver:
        client.subscribe(
            receiver.url, ["event.credited", "event.rejected", "authorisation.revoked"]
        )
        rider = client.request("POST", "sandbox/customers")
        asked = client.create_authorization(scenarios=["metro_trip"], state=secrets.token_hex(8))
        # The rider approves in the greenbank app (signed in as the sandbox customer).
        approved = http.post(
            asked["authorize_path"] + "/approve",
            headers={"Authorization": f"Bearer {rider['access_token']}"},
        )
        approved.raise_for_status()
        grant = client.exchange_code(approved.json()["code"])
        # Each gate exit is reported as it happens (after the rider's authorisation).
        trips = [
            {
                "event_id": f"trip-{secrets.token_hex(6)}",
                "customer_token": grant["customer_token"],
                "scenario": "metro_trip",
                "occurred_at": datetime.fromtimestamp(now(), tz=UTC).isoformat(),
                "inputs": {"distance_km": km},
            }
            for km in TRIPS_KM
        ]
        reported = client.report_events(trips)
        total = client.carbon_total(grant["customer_token"])
        notices = receiver.wait(reported["accepted"], timeout=wait_s)
    return {
        "authorisation_id": grant["authorisation_id"],
        "reported": reported,
        "total": total,
        "callbacks": notices,
        "refused_callbacks": receiver.refused,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--partner-id", default="metro-demo")
    parser.add_argument("--key", type=Path, required=True, help="the partner's SM2 private key")
    parser.add_argument("--platform-key", type=Path, required=True, help="pinned platform key")
    args = parser.parse_args()
    signer = load_private_key(args.key.read_bytes())
    platform = load_public_key(args.platform_key.read_bytes())
    public_pem = signer.public_key_pem()  # type: ignore[attr-defined]
    with httpx.Client(base_url=args.base_url, timeout=10) as http:
        client = GreenbankClient(
            args.base_url,
            partner_id=args.partner_id,
            serial_no=key_serial(load_public_key(public_pem)),
            signer=signer,
            platform_keys={key_serial(platform): platform},
            http=http,
        )
        client.refresh_platform_keys()
        print(json.dumps(run(client, http), indent=2, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
