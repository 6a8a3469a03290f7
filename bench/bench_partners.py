"""Open API throughput: signed event reports over HTTP from 32 concurrent partner clients.

A uvicorn subprocess serves the app on 127.0.0.1 (one worker unless ``--workers``); 32 partners
(each its own SM2 key) report ``metro_trip`` events for customers who authorised them, one event
per request through the SDK (sign -> POST -> verify the platform's answer). Every request is
fully processed: signature check, nonce, rate window, idempotency record, carbon ingestion.

Reports requests/s, p50/p99 latency, and the share of the server's CPU time spent in SM2
signature verification (and in signing answers), from the measured cost of one verify on this
machine times the requests served, over the server process's CPU seconds (/proc).
A migrated SQLite file by default; ``--database-url`` for PostgreSQL (an empty throwaway DB).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from cpu_use import tree_cpu
from greenbank.bootstrap import Container, build_container
from greenbank.carbon import consent
from greenbank.carbon.catalog import install_v1
from greenbank.config import Environment, Settings
from greenbank.crypto import SM2PrivateKey, backend_name
from greenbank.migrations_runner import upgrade
from greenbank.partners import authorisations, registry
from greenbank.partners.gateway import Caller
from greenbank.partners.runtime import runtime
from greenbank.partners.signing import key_serial
from greenbank_sdk import GreenbankClient, load_private_key, load_public_key, request_message
from greenbank_sdk.client import key_serial as sdk_serial

CLIENTS = 32
PER_CUSTOMER_PER_DAY = 6  # metro_trip's cap: events go round enough customers


def setup(
    container: Container, partners: int, customers: int
) -> list[tuple[str, SM2PrivateKey, list[str]]]:
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="bench")
        uow.commit()
    made = []
    for p in range(partners):
        key = SM2PrivateKey.generate()
        partner_id = f"metro-{p:02d}"
        registry.create(
            container,
            actor="maker",
            partner_id=partner_id,
            profile=registry.Profile(
                name=partner_id,
                sandbox=False,
                scenarios=["metro_trip"],
                rate_limit_per_minute=1_000_000,
            ),
            public_key_pem=key.public_key().to_pem().decode(),
        )
        registry.approve(container, actor="checker", partner_id=partner_id)
        caller = Caller(partner_id, False, ("metro_trip",), key_serial(key.public_key()))
        tokens = []
        for c in range(customers):
            customer = f"bench-{p:02d}-{c:02d}"
            consent.open_account(
                container.uow,
                container.clock,
                customer_id=customer,
                accept_terms=True,
                terms_version=consent.TERMS_VERSION,
            )
            with container.uow() as uow:
                asked = authorisations.start(
                    uow.session,
                    container,
                    caller,
                    scenarios=["metro_trip"],
                    state="b",
                    redirect_uri=None,
                    phone_encrypted=None,
                    platform_serial=None,
                )
                uow.commit()
            code = authorisations.approve(container, customer_id=customer, request_id=asked.id).code
            tokens.append(authorisations.exchange(container, caller, code=code).customer_token)
        made.append((partner_id, key, tokens))
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def crypto_costs() -> tuple[float, float]:
    """Seconds per SM2 verify and per sign of a request-sized message on this machine."""
    key = SM2PrivateKey.generate()
    public = key.public_key()
    message = request_message("POST", "/api/v1/open/events", "1772415000", "n" * 32, b"x" * 220)
    signature = key.sign(message)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        public.verify(signature, message)
    verify = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for _ in range(rounds):
        key.sign(message)
    return verify, (time.perf_counter() - started) / rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=40, help="per client")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bench-partners-"))
    url = args.database_url or f"sqlite:///{var}/bench.db"
    settings = Settings(environment=Environment.TEST, database_url=url, var_dir=var, _env_file=None)
    container = build_container(settings)
    upgrade(container.engine)
    platform_pem = runtime(container).keys.current.public_pem.encode()  # also creates the keys
    customers = -(-args.requests // PER_CUSTOMER_PER_DAY)
    partners = setup(container, CLIENTS, customers)
    port = free_port()
    env = {
        **os.environ,
        "GREENBANK_ENVIRONMENT": "test",
        "GREENBANK_DATABASE_URL": url,
        "GREENBANK_VAR_DIR": str(var),
        "GREENBANK_BUS_EMBEDDED_DISPATCHER": "0",
        "GREENBANK_LOG_LEVEL": "WARNING",
        "GREENBANK_DB_POOL_SIZE": "40",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "greenbank.api:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    command += ["--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        platform = load_public_key(platform_pem)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        start_line = threading.Barrier(CLIENTS + 1)

        def client(partner_id: str, key: SM2PrivateKey, tokens: list[str]) -> None:
            with httpx.Client(base_url=base, timeout=30) as http:
                api = GreenbankClient(
                    base,
                    partner_id=partner_id,
                    serial_no=key_serial(key.public_key()),
                    signer=load_private_key(key.to_pem()),
                    platform_keys={sdk_serial(platform): platform},
                    http=http,
                )
                api.request("GET", "webhooks")  # warm the connection
                start_line.wait()
                for n in range(args.requests):
                    token = tokens[n % len(tokens)]
                    event = {
                        "event_id": f"{partner_id}-{n}",
                        "customer_token": token,
                        "scenario": "metro_trip",
                        "occurred_at": datetime.now(UTC).isoformat(),  # after the consent
                        "inputs": {"distance_km": "12.5"},
                    }
                    sent = time.perf_counter()
                    try:
                        answer = api.report_event(event)
                        ok = answer["status"] == "accepted"
                    except Exception as err:  # counted, not fatal
                        ok, answer = False, {"reason": repr(err)[:120]}
                    elapsed = time.perf_counter() - sent
                    with lock:
                        latencies.append(elapsed)
                        if not ok:
                            failures.append(str(answer.get("reason")))

        threads = [threading.Thread(target=client, args=p) for p in partners]
        for thread in threads:
            thread.start()
        start_line.wait()
        cpu_before, wall_before = tree_cpu(server.pid), time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall_before
        cpu = tree_cpu(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(10)
    verify_s, sign_s = crypto_costs()
    count = len(latencies)
    ordered = sorted(latencies)
    p99 = ordered[min(count - 1, int(count * 0.99))]
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(
        f"partners {backend} workers={args.workers} clients={CLIENTS} requests={count} "
        f"refused={len(failures)} rate={count / wall:.0f} req/s "
        f"p50={statistics.median(latencies) * 1000:.1f} ms p99={p99 * 1000:.1f} ms "
        f"server_cpu={cpu:.2f} s ({cpu / count * 1000:.2f} ms/req) "
        f"verify={1 / verify_s:.0f}/s/core ({verify_s * count / cpu:.1%} of server CPU) "
        f"sign={1 / sign_s:.0f}/s/core ({sign_s * count / cpu:.1%}) "
        f"[{backend_name()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}]"
    )
    if failures:
        print("refusal reasons:", sorted(set(failures))[:5])
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
