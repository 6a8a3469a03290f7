"""Benchmark greenbank.crypto against its limits and record the figures in docs/performance.md.

Run: ``.venv/bin/python bench/bench_crypto.py [--seconds 3] [--rounds 2] [--no-write]``

* SM2 sign/verify per second on one core, against ``openssl speed sm2`` on the same machine
  (the C ceiling our ctypes binding cannot beat); target >= 0.90 of it.
* SM4-GCM field encryption: KeyRing.encrypt_field + decrypt_field of a 32-character value,
  AAD construction and token encoding included; target >= 100,000 pairs per second.
* SM3 and SM4-GCM throughput on 1 MiB buffers (SM3 against ``openssl speed -evp sm3``; the system
  OpenSSL 3.0 has no SM4-GCM, so that figure is informational).

The machine is shared (two cores, other work running): rates are per CPU second, like
``openssl speed``'s, and each figure is the best of ``rounds``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from greenbank.crypto import KeyRing, SM2PrivateKey, backend_name, init_keys, sm3, sm4_gcm_encrypt

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:crypto:start -->", "<!-- bench:crypto:end -->"
MIB = 1 << 20


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    limit: float | None = None
    limit_name: str = ""
    target: str = ""
    passed: bool | None = None

    def line(self) -> str:
        text = f"{self.name:<26} {self.value:>10,.0f} {self.unit:<8}"
        if self.limit is not None:
            ratio = self.value / self.limit
            text += f" limit({self.limit_name}) {self.limit:>10,.0f}  ratio {ratio:4.2f}"
        if self.target:
            text += f"  target {self.target}  {'PASS' if self.passed else 'FAIL'}"
        return text


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per CPU second of ``fn`` over about ``seconds`` of wall time. CPU time, because that
    is what ``openssl speed`` divides by (it reports per user-CPU second unless ``-elapsed``), and
    it keeps other processes on a shared machine out of the figure."""
    count, deadline = 0, time.perf_counter() + seconds
    cpu_start = time.process_time()
    while time.perf_counter() < deadline:
        for _ in range(64):
            fn()
        count += 64
    return count / (time.process_time() - cpu_start)


def openssl_speed(*args: str, seconds: float) -> str:
    binary = shutil.which("openssl")
    if binary is None:
        sys.exit("openssl is not installed: it is the reference this benchmark compares against")
    cmd = [binary, "speed", "-mr", "-seconds", str(int(seconds)), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def openssl_sm2(seconds: float) -> tuple[float, float]:
    """(sign/s, verify/s) from ``openssl speed -mr sm2``: ``+F7:0:256:CurveSM2:<sign>:<verify>``."""
    match = re.search(
        r"^\+F7:\d+:256:CurveSM2:([\d.]+):([\d.]+)$", openssl_speed("sm2", seconds=seconds), re.M
    )
    if match is None:
        sys.exit("unexpected `openssl speed -mr sm2` output")
    return float(match.group(1)), float(match.group(2))


def openssl_sm3_mib(seconds: float) -> float:
    out = openssl_speed("-bytes", str(MIB), "-evp", "sm3", seconds=seconds)
    match = re.search(r"^\+F:\d+:sm3:([\d.]+)$", out, re.M)
    if match is None:
        sys.exit("unexpected `openssl speed -mr -evp sm3` output")
    return float(match.group(1)) / MIB


def measure(seconds: float, rounds: int) -> list[Figure]:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    message = os.urandom(20)  # what `openssl speed sm2` signs
    signature = key.sign(message)
    ring = KeyRing(init_keys(Path(tempfile.mkdtemp()) / "keys"))
    value, record = "x" * 32, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

    def field_pair() -> None:
        token = ring.encrypt_field(value, table="customers", column="id_number", record_id=record)
        ring.decrypt_field(token, table="customers", column="id_number", record_id=record)

    buffer, gcm_key, nonce = os.urandom(MIB), os.urandom(16), os.urandom(12)
    best: dict[str, float] = {}
    for _ in range(rounds):  # interleave ours and openssl's so background load hits both alike
        ssl_sign, ssl_verify = openssl_sm2(seconds)
        samples = {
            "openssl sign": ssl_sign,
            "openssl verify": ssl_verify,
            "sign": rate(lambda: key.sign(message), seconds),
            "verify": rate(lambda: public.verify(signature, message), seconds),
            "field": rate(field_pair, seconds),
            "sm3": rate(lambda: sm3(buffer), seconds / 3),
            "gcm": rate(lambda: sm4_gcm_encrypt(gcm_key, nonce, buffer, b""), seconds / 3),
            "openssl sm3": openssl_sm3_mib(max(1.0, seconds / 3)),
        }
        for name, sample in samples.items():
            best[name] = max(best.get(name, 0.0), sample)
    sign_ratio = best["sign"] / best["openssl sign"]
    verify_ratio = best["verify"] / best["openssl verify"]
    return [
        Figure(
            "sm2 sign/s",
            best["sign"],
            "/s",
            best["openssl sign"],
            "openssl",
            ">= 0.90",
            sign_ratio >= 0.9,
        ),
        Figure(
            "sm2 verify/s",
            best["verify"],
            "/s",
            best["openssl verify"],
            "openssl",
            ">= 0.90",
            verify_ratio >= 0.9,
        ),
        Figure(
            "field enc+dec/s (32 B)",
            best["field"],
            "/s",
            None,
            "",
            ">= 100,000",
            best["field"] >= 100_000,
        ),
        Figure("sm3 MiB/s (1 MiB)", best["sm3"], "MiB/s", best["openssl sm3"], "openssl"),
        Figure("sm4-gcm enc MiB/s (1 MiB)", best["gcm"], "MiB/s"),
    ]


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = found.group(1).strip() if found else cpu
    return f"{os.cpu_count()} CPUs (nproc), {cpu}, {platform.system()} {platform.machine()}"


def report(figures: list[Figure], seconds: float, rounds: int) -> str:
    ssl = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    lines = [
        START,
        "## Crypto (`bench/bench_crypto.py`)",
        "",
        f"- Measured: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; "
        f"best of {rounds} rounds of {seconds:g} s, one core",
        f"- Machine: {machine()}",
        f"- OpenSSL CLI: {ssl}; SM2 backend: {backend_name()}",
        f"- Python {platform.python_version()}, cryptography {metadata.version('cryptography')}",
        "",
        "```",
        *(figure.line() for figure in figures),
        "```",
        END,
    ]
    return "\n".join(lines)


def write_section(section: str) -> None:
    """Replace the crypto section between its markers, keeping everything else in the file."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n\nFigures recorded by `bench/`.\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    figures = measure(args.seconds, args.rounds)
    section = report(figures, args.seconds, args.rounds)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0 if all(f.passed is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
