"""Key rotation on both databases: every token moves to the new version, nothing stops
decrypting, a stopped rotation resumes, any table with an encrypted column is covered, and the
service keeps answering while it runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pii_support import ID_NUMBER, NAME, PHONE, bulk_customers, load, raw_row, register, set_raw
from sqlalchemy import Column, MetaData, String, Table, insert, select

from greenbank.bootstrap import Container
from greenbank.crypto import CryptoUnknownKeyVersion
from greenbank.customers import registry
from greenbank.db import Base
from greenbank.keys import count_stale, key_status, rotate
from greenbank.pii import EncryptedString, encrypted_tables

ROWS = 120  # bulk customers: 3 tokens each


def _versions(container: Container) -> dict[str, dict[int, int]]:
    """Token counts per version of the customers' columns (other domains' tables are empty)."""
    return {
        f"{s.table}.{s.column}": s.by_version
        for s in key_status(container.engine, container.keyring)
        if s.table == "customers"
    }


def test_every_encrypted_column_of_the_models_is_registered() -> None:
    tables = {t.table.name: [c.name for c in t.columns] for t in encrypted_tables(Base.metadata)}
    assert tables["customers"] == ["phone", "name", "id_number", "address"]
    assert all(columns for columns in tables.values())


def test_rotation_moves_every_token_and_everything_still_decrypts(container: Container) -> None:
    customer_id = register(container)
    bulk_customers(container, ROWS)
    before = raw_row(container, customer_id)
    seen: list[tuple[int, int]] = []

    report = rotate(
        container.engine,
        container.keyring,
        batch_size=25,
        progress=lambda d, t: seen.append((d, t)),
    )

    tokens = 4 + 3 * ROWS
    assert (report.version, report.new_version) == (2, True)
    assert (report.rotated, report.remaining, report.batches) == (tokens, 0, 5)
    assert seen[-1] == (tokens, tokens) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert _versions(container) == {
        "customers.phone": {1: 0, 2: ROWS + 1},
        "customers.name": {1: 0, 2: ROWS + 1},
        "customers.id_number": {1: 0, 2: ROWS + 1},
        "customers.address": {1: 0, 2: 1},
    }
    after = raw_row(container, customer_id)
    assert after["name"] != before["name"] and (after["name"] or "").startswith("v1:2:")
    assert after["phone_bidx"] == before["phone_bidx"]  # the index key does not rotate
    customer = load(container, customer_id)
    assert (customer.phone, customer.name, customer.id_number) == (PHONE, NAME, ID_NUMBER)
    with container.uow() as uow:
        found = registry.find_by_id_number(uow.session, container.keyring, f"4401{7:013d}X")
        assert found is not None and found.name == "客户7"


def test_a_stopped_rotation_resumes_and_old_versions_decrypt_meanwhile(
    container: Container,
) -> None:
    ids = bulk_customers(container, ROWS)

    def stop_after_two_batches(done: int, total: int) -> None:
        if done >= 2 * 20 * 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rotate(container.engine, container.keyring, batch_size=20, progress=stop_after_two_batches)
    halfway = _versions(container)["customers.name"]
    assert halfway == {1: ROWS - 40, 2: 40}
    assert load(container, ids[0]).name == "客户0"  # already version 2
    assert load(container, ids[-1]).name == f"客户{ROWS - 1}"  # still version 1

    report = rotate(container.engine, container.keyring, batch_size=20)

    assert (report.version, report.new_version) == (2, False)
    assert (report.rotated, report.remaining) == (3 * (ROWS - 40), 0)
    assert _versions(container)["customers.id_number"] == {1: 0, 2: ROWS}
    again = rotate(container.engine, container.keyring, batch_size=20)
    assert (again.version, again.new_version, again.rotated) == (3, True, 3 * ROWS)


def test_an_unreadable_token_is_reported_and_stops_the_rotation_naming_its_cell(
    container: Container,
) -> None:
    customer_id = register(container)
    set_raw(container, customer_id, "address", "v1:9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    status = {f"{s.table}.{s.column}": s for s in key_status(container.engine, container.keyring)}
    assert status["customers.address"].other == 1 and status["customers.address"].total == 1
    assert count_stale(container.engine, container.keyring) == 1
    with pytest.raises(CryptoUnknownKeyVersion, match=f"customers.address {customer_id}"):
        rotate(container.engine, container.keyring)


@pytest.fixture
def notes(container: Container) -> Iterator[tuple[MetaData, Table]]:
    """A table of another domain with an encrypted column (created only for this test)."""
    metadata = MetaData()
    table = Table(
        "pii_test_notes",
        metadata,
        Column("note_id", String(36), primary_key=True),
        Column("body", EncryptedString()),
    )
    metadata.create_all(container.engine)
    yield metadata, table
    metadata.drop_all(container.engine)


def test_rotation_covers_any_table_with_an_encrypted_column(
    container: Container, notes: tuple[MetaData, Table]
) -> None:
    metadata, table = notes
    ring = container.keyring

    def seal(note_id: str) -> str:
        return ring.encrypt_field(
            f"note {note_id}", table="pii_test_notes", column="body", record_id=note_id
        )

    with container.engine.begin() as conn:
        conn.execute(
            insert(table), [{"note_id": f"n{i:03d}", "body": seal(f"n{i:03d}")} for i in range(30)]
        )
        conn.execute(insert(table), [{"note_id": "empty", "body": None}])

    report = rotate(container.engine, ring, metadata=metadata, batch_size=7)

    assert (report.rotated, report.remaining, report.batches) == (30, 0, 5)
    with container.engine.connect() as conn:
        rows = conn.execute(select(table.c.note_id, table.c.body).where(table.c.body.is_not(None)))
        for note_id, body in rows:
            assert body.startswith(f"v1:{report.version}:")
            decrypted = ring.decrypt_field(
                body, table="pii_test_notes", column="body", record_id=note_id
            )
            assert decrypted == f"note {note_id}"


@pytest.mark.slow
def test_rotation_runs_while_the_service_keeps_answering(db_url: str, tmp_path: Path) -> None:
    """The 100,000-customer benchmark at 5,000 customers: HTTP /readyz and look-ups by ID
    number run in two threads during the rotation; every read must succeed (p99 < 1 s)."""
    bench = Path(__file__).resolve().parents[3] / "bench" / "bench_keys_rotate.py"
    result = subprocess.run(
        [
            sys.executable,
            str(bench),
            "--database-url",
            db_url,
            *("--rows", "5000", "--batch-size", "250", "--no-write"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "rotated 15,000 tokens to v2" in result.stdout and "0 left" in result.stdout
    assert result.stdout.count("failed 0") == 2
