"""``pgbench -c 8 -j 2`` on the bench host's PostgreSQL, and its TPS: the reference the
ledger and deposit benches measure themselves against in the same run."""

from __future__ import annotations

import os
import re
import subprocess

PG_HOST = os.environ.get("GREENBANK_BENCH_PGHOST", "127.0.0.1")
PG_USER = os.environ.get("GREENBANK_BENCH_PGUSER", "postgres")


def pgbench_tps(db: str, seconds: int, *options: str) -> float:
    """TPS (without initial connection time) of 8 clients on 2 threads for ``seconds``;
    ``options`` e.g. ``-n -f script.sql`` for a custom script instead of TPC-B."""
    out = subprocess.run(
        [
            *("pgbench", "-h", PG_HOST, "-U", PG_USER),
            *("-c", "8", "-j", "2", "-T", str(seconds), *options, db),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None:
        raise SystemExit(f"could not parse pgbench output:\n{out}")
    return float(match.group(1))
