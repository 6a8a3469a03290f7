"""The operator's CLI: migrate, inspect, seed, diagnose; bad configuration is one clear line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

ENV_KEYS_TO_DROP = [k for k in os.environ if k.startswith("GREENBANK_")]


def run_cli(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS_TO_DROP}
    env["GREENBANK_DATABASE_URL"] = database_url
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "greenbank", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_upgrade_current_seed_are_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert run_cli("db", "current", database_url=url, cwd=tmp_path).returncode == 1
    first = run_cli("db", "upgrade", database_url=url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    current = run_cli("db", "current", database_url=url, cwd=tmp_path)
    assert current.returncode == 0
    assert "up to date" in current.stdout
    assert run_cli("demo", "seed", database_url=url, cwd=tmp_path).returncode == 0
    again = run_cli("demo", "seed", database_url=url, cwd=tmp_path)
    assert "already present" in again.stdout


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("nonsense", "configuration_error"),
        ("mysql://x@127.0.0.1/db", "configuration_error"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "configuration_error"),
    ],
)
def test_bad_database_url_is_one_clear_line(tmp_path: Path, url: str, code: str) -> None:
    result = run_cli("db", "upgrade", database_url=url, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"[{code}]" in lines[0]


def test_doctor_reports_an_unmigrated_database_as_broken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/doc.db"
    broken = run_cli("doctor", database_url=url, cwd=tmp_path)
    assert broken.returncode == 1
    assert "greenbank db upgrade" in broken.stdout


def test_help_everywhere(tmp_path: Path) -> None:
    for args in (["--help"], ["db", "--help"], ["db", "upgrade", "--help"], ["serve", "--help"]):
        result = run_cli(*args, database_url="sqlite://", cwd=tmp_path)
        assert result.returncode == 0, args
        assert "Usage" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, workers: int) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """``greenbank serve`` on a migrated SQLite file, answering /healthz; stopped with Ctrl-C,
    which must end it cleanly."""
    url = f"sqlite:///{tmp_path}/serve.db"
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS_TO_DROP}
    env["GREENBANK_DATABASE_URL"] = url
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "greenbank",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        yield port, proc
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Traceback" not in output


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_stops_cleanly_on_ctrl_c(tmp_path: Path, workers: int) -> None:
    with serving(tmp_path, workers) as (port, _):
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200


def _sockets(port: int, state: str) -> set[str]:
    """Inodes of the TCP sockets on local ``port`` in ``state`` (Linux's /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
            found.add(f"socket:[{fields[9]}]")
    return found


def _holders(inodes: set[str]) -> Counter[int]:
    """How many of these sockets each process holds (/proc/PID/fd)."""
    held: Counter[int] = Counter()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with suppress(OSError):
            if os.readlink(fd) in inodes:
                held[int(fd.parts[2])] += 1
    return held


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_keep_alive_clients_opening_at_once_are_spread_over_the_workers(tmp_path: Path) -> None:
    """Each worker listens on its own SO_REUSEPORT socket. With one shared socket the first
    worker to wake took all 32 connections, and kept them."""
    with serving(tmp_path, 2) as (port, proc):
        deadline = time.monotonic() + 30
        while len(_sockets(port, "0A")) < 2:  # LISTEN: the second worker may still be starting
            assert time.monotonic() < deadline, "not one listening socket per worker"
            time.sleep(0.2)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            for client in clients:  # each connection answered, so each is accepted
                client.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            for client in clients:
                assert client.recv(4096).startswith(b"HTTP/1.1 200")
            held = _holders(_sockets(port, "01"))  # ESTABLISHED
        finally:
            for client in clients:
                client.close()
    assert proc.pid not in held  # the supervisor serves nothing itself
    assert sum(held.values()) == 32
    assert len(held) == 2 and min(held.values()) >= 4, held  # ~even: P(< 4 of 32) ~ 3e-6
