"""`greenbank demo seed` opens demo accounts through the real flow; `greenbank accounts` lists
the review queue, decides it, and prints the sandbox identities."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.test_cli_foundation import run_cli


def test_seed_then_review_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    seeded = run_cli("demo", "seed", database_url=url, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "application of 王* opened" in seeded.stdout
    assert "application of 张* in_review" in seeded.stdout
    assert "application of 李* refused (id_verification_no_record)" in seeded.stdout
    again = run_cli("demo", "seed", database_url=url, cwd=tmp_path)
    assert "application of" not in again.stdout
    queue = run_cli(
        "accounts", "applications", "--state", "in_review", database_url=url, cwd=tmp_path
    )
    assert "1 of 1" in queue.stdout and "11010519491231002X" not in queue.stdout
    found = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", queue.stdout)
    assert found, queue.stdout
    decided = run_cli(
        "accounts",
        "review",
        found.group(0),
        "--approve",
        "--reason",
        "核实无误",
        database_url=url,
        cwd=tmp_path,
    )
    assert decided.returncode == 0, decided.stderr
    assert "opened" in decided.stdout
    twice = run_cli(
        "accounts",
        "review",
        found.group(0),
        "--refuse",
        "--reason",
        "x",
        database_url=url,
        cwd=tmp_path,
    )
    assert twice.returncode == 2 and "[wrong_step]" in twice.stderr
    people = run_cli("accounts", "sandbox-people", database_url=url, cwd=tmp_path)
    assert "11010519491231002X" in people.stdout and "wu_shi" in people.stdout
