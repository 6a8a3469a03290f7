"""Receipt throughput on one core: render + seal (Chinese font, drawn seal, QR, local TSA) and
offline verification. Writes its section of docs/performance.md; exits 1 if a target is missed.

Rates are computed from this process's CPU time (other work on a shared machine does not
count against it), the median of five rounds; wall-clock rates are shown next to them.
``--profile`` prints the top of a cProfile run of each phase instead of writing the document.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from greenbank.receipts.codes import verification_code
from greenbank.receipts.pki import init_pki, load_seal_identity
from greenbank.receipts.render import Party, ReceiptData, ReceiptType, render_receipt
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.sm2_pki import init_sm2_pki, installed_trust_roots, load_sm2_seal_identity
from greenbank.receipts.tsa import LocalTimestampAuthority
from greenbank.receipts.verify import Reason, verify_receipt_pdf

BANK = "广东南粤银行"
URL = "https://bank.example/receipts/verify"
KEY = b"bench-verification-key-32-bytes!"
SEALED_TARGET = 30.0
VERIFIED_TARGET = 120.0
DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
START, END = "<!-- bench:receipts:start -->", "<!-- bench:receipts:end -->"
SEALED, VERIFIED = "render + seal + timestamp", "verify (B-T, chain, DocMDP)"


def receipt(i: int) -> ReceiptData:
    number = f"RC20240501{i:08d}"
    amount = 1_017_500 + i
    payee = "6236680012345678901"
    return ReceiptData(
        receipt_no=number,
        type=ReceiptType.DEPOSIT_PURCHASE,
        time=datetime(2024, 5, 1, 2, 23, 45, tzinfo=UTC),
        serial_no=f"TX2024050110234500{i:04d}",
        payer=Party("张三丰", "6217271234561234", "广东南粤银行广州天河支行"),
        payee=Party("张三丰", payee, "广东南粤银行广州天河支行"),
        amount_fen=amount,
        verification_code=verification_code(
            KEY, receipt_no=number, amount_fen=amount, on=date(2024, 5, 1), payee_account=payee
        ),
        product="南粤绿色定期存款",
        term="1年",
        rate=Decimal("0.0215"),
        value_date=date(2024, 5, 1),
        maturity_date=date(2025, 5, 1),
    )


ROUNDS = 5


def measure(label: str, count: int, step: Callable[[int], object]) -> dict[str, float | str]:
    """Median of ROUNDS rounds, by CPU time (and, separately, by wall-clock time)."""
    cpu_times, wall_times = [], []
    for _ in range(ROUNDS):
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            step(i)
        cpu_times.append(time.process_time() - cpu)
        wall_times.append(time.perf_counter() - wall)
    cpu_s, wall_s = statistics.median(cpu_times), statistics.median(wall_times)
    return {"label": label, "per_s": count / cpu_s, "wall_per_s": count / wall_s}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("-n", type=int, default=60)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    with tempfile.TemporaryDirectory() as tmp:
        init_pki(tmp, BANK)
        init_sm2_pki(tmp, BANK)
        identity, sm2 = load_seal_identity(tmp), load_sm2_seal_identity(tmp)
        tsa = LocalTimestampAuthority.from_directory(tmp)
        roots = installed_trust_roots(tmp)  # both roots, as the service trusts them
        receipts = [receipt(i) for i in range(args.n)]
        rendered = [render_receipt(r, bank_name=BANK, verify_url=URL) for r in receipts]
        sealed = [seal_pdf(p, identity, tsa=tsa) for p in rendered]
        sm2_sealed = [seal_pdf(p, sm2, tsa=tsa) for p in rendered]
        assert all(verify_receipt_pdf(s, roots).reason == Reason.OK for s in sealed + sm2_sealed)

        def render(i: int) -> bytes:
            return render_receipt(receipts[i], bank_name=BANK, verify_url=URL)

        def render_and_seal(i: int) -> bytes:
            return seal_pdf(render(i), identity, tsa=tsa)

        phases: list[tuple[str, Callable[[int], object]]] = [
            (SEALED, render_and_seal),
            ("render only", render),
            ("seal + timestamp only", lambda i: seal_pdf(rendered[i], identity, tsa=tsa)),
            ("seal without timestamp", lambda i: seal_pdf(rendered[i], identity)),
            (VERIFIED, lambda i: verify_receipt_pdf(sealed[i], roots)),
            ("SM2/SM3 seal + timestamp only", lambda i: seal_pdf(rendered[i], sm2, tsa=tsa)),
            ("SM2/SM3 verify", lambda i: verify_receipt_pdf(sm2_sealed[i], roots)),
        ]
        if args.profile:
            for label, step in phases:
                profile = cProfile.Profile()
                profile.runcall(lambda s=step: [s(i) for i in range(args.n)])  # type: ignore[misc]
                print(f"== {label}")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            return 0
        results = [measure(label, args.n, step) for label, step in phases]
        size = sum(len(s) for s in sealed) // len(sealed)
    rates = {str(r["label"]): float(r["per_s"]) for r in results}
    sealed_rate, verified_rate = rates[SEALED], rates[VERIFIED]
    for r in results:
        ms = 1000 / float(r["per_s"])
        print(f"{r['label']:<32} {r['per_s']:8.1f}/s  {ms:5.1f} ms  (wall {r['wall_per_s']:.1f}/s)")
    write_section(results, size, sealed_rate, verified_rate)
    ok = sealed_rate >= SEALED_TARGET and verified_rate >= VERIFIED_TARGET
    print("targets met" if ok else "a target was missed")
    return 0 if ok else 1


def write_section(
    results: list[dict[str, float | str]], size: int, sealed: float, verified: float
) -> None:
    rows = "\n".join(
        f"| {r['label']} | {float(r['per_s']):.1f} | {1000 / float(r['per_s']):.1f} "
        f"| {float(r['wall_per_s']):.1f} |"
        for r in results
    )
    section = f"""{START}
## Receipts (render, seal, verify)

`python bench/bench_receipts.py` — one core ({platform.processor() or platform.machine()},
Python {platform.python_version()}), one A4 receipt with the embedded WenQuanYi Micro Hei subset,
the drawn seal and a QR code; ECDSA P-256 seal (the SM2/SM3 seal on the last two lines, SM2
over the system libcrypto), RSA-2048 local TSA (PAdES B-T). Rates from process CPU time, median
of {ROUNDS} rounds; wall-clock rates alongside (the machine may be shared). Sealed PDF:
{size / 1024:.0f} KiB.

| operation | per second (CPU) | ms each (CPU) | per second (wall) |
| --- | ---: | ---: | ---: |
{rows}

Targets: sealed >= {SEALED_TARGET:.0f}/s ({"met" if sealed >= SEALED_TARGET else "MISSED"}),
verified >= {VERIFIED_TARGET:.0f}/s ({"met" if verified >= VERIFIED_TARGET else "MISSED"}).
Where the time goes (cProfile, `--profile`): rendering is reportlab's layout of the table and
notes, its page serialisation (font subsetting, compression) and the QR code; sealing is
pyHanko's incremental write and CMS assembly plus the local TSA's RSA token; verification is
pyHanko's PDF parsing, the two certificate paths (seal and TSA) and the CMS checks. Fixed hot
spots are listed in `src/greenbank/receipts/README.md` (Performance).
{END}"""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n"
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
