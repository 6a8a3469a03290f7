"""Encrypted columns on both databases: round trip, nothing readable at rest, blind-index
look-ups, tamper detection, the plaintext guard, and race-safe registration."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from pii_support import ADDRESS, ID_NUMBER, NAME, PHONE, load, raw_row, register, set_raw
from sqlalchemy import String, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from greenbank.bootstrap import Container
from greenbank.crypto import CryptoDecryptFailed, KeyRing
from greenbank.customers import registry
from greenbank.customers.models import Customer
from greenbank.pii import (
    EncryptedString,
    PiiMisconfigured,
    PlaintextRefused,
    is_token,
    matches,
    session_keyring,
)

SECRETS = [PHONE, NAME, ID_NUMBER, ADDRESS, "19491231", "1234 5678"]


def test_round_trip_reads_and_writes_plaintext(container: Container) -> None:
    customer_id = register(container, phone="+86 138 1234 5678", id_number="11010519491231002x")
    customer = load(container, customer_id)
    assert (customer.phone, customer.name, customer.address) == (PHONE, NAME, ADDRESS)
    assert customer.id_number == "11010519491231002x"  # stored as given; the index normalises
    stored = raw_row(container, customer_id)
    assert all(is_token(stored[c]) for c in ("phone", "name", "id_number", "address"))
    ring = container.keyring
    assert stored["phone_bidx"] == ring.blind_index(PHONE, kind="phone")
    assert stored["id_number_bidx"] == ring.blind_index(ID_NUMBER, kind="id_number")


def test_updating_one_field_reseals_only_that_field(container: Container) -> None:
    customer_id = register(container)
    before = raw_row(container, customer_id)
    with container.uow() as uow:
        customer = registry.find_by_phone(uow.session, container.keyring, PHONE)
        assert customer is not None
        customer.id_number = "440106199001011234"
        uow.commit()
    after = raw_row(container, customer_id)
    assert after["phone"] == before["phone"] and after["name"] == before["name"]
    assert after["id_number"] != before["id_number"]
    assert after["id_number_bidx"] == container.keyring.blind_index(
        "440106199001011234", kind="id_number"
    )
    assert load(container, customer_id).id_number == "440106199001011234"


def test_clearing_a_field_clears_its_blind_index(container: Container) -> None:
    customer_id = register(container)
    with container.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None
        customer.id_number = None
        uow.commit()
    assert raw_row(container, customer_id)["id_number"] is None
    assert raw_row(container, customer_id)["id_number_bidx"] is None


def test_expired_and_refreshed_attributes_decrypt_again(container: Container) -> None:
    customer_id = register(container)
    with container.uow() as uow:
        customer = uow.session.get(Customer, customer_id)
        assert customer is not None
        uow.session.expire(customer, ["name"])
        assert customer.name == NAME
        uow.session.refresh(customer)
        assert (customer.phone, customer.id_number) == (PHONE, ID_NUMBER)
        again = uow.session.scalars(
            select(Customer).execution_options(populate_existing=True)
        ).one()
        assert again is customer and customer.address == ADDRESS


def test_lookup_by_id_number_finds_the_record(container: Container) -> None:
    customer_id = register(container)
    register(container, phone="13900000000", id_number="440106199001011234")
    with container.uow() as uow:
        found = registry.find_by_id_number(uow.session, container.keyring, "110105 19491231 002x")
        missing = registry.find_by_id_number(uow.session, container.keyring, "440106199001011235")
        by_phone = registry.find_by_phone(uow.session, container.keyring, "0086 13812345678")
        assert found is not None and found.id == customer_id and found.name == NAME
        assert missing is None
        assert by_phone is found


def test_the_same_id_number_cannot_belong_to_two_customers(container: Container) -> None:
    register(container)
    with pytest.raises(IntegrityError):
        register(container, phone="13900000000", id_number=ID_NUMBER.lower())


def test_sqlite_file_holds_no_plaintext(container: Container) -> None:
    if not container.settings.is_sqlite:
        pytest.skip("reads the SQLite file")
    customer_id = register(container)
    path = Path(container.engine.url.database or "")
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    token = raw_row(container, customer_id)["id_number"]
    assert token is not None and token.encode() in raw  # we are reading the right bytes
    for secret in SECRETS:
        assert secret.encode() not in raw, secret


def test_postgresql_dump_holds_no_plaintext(container: Container) -> None:
    if container.settings.is_sqlite:
        pytest.skip("dumps the PostgreSQL database")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    customer_id = register(container)
    url = container.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(
        [pg_dump, "--data-only", "--table=customers", url],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )
    if dump.returncode != 0:
        pytest.skip(f"pg_dump failed: {dump.stderr.decode(errors='replace').strip()[:200]}")
    assert customer_id.encode() in dump.stdout
    for secret in SECRETS:
        assert secret.encode() not in dump.stdout, secret


def test_a_tampered_token_fails_with_a_code(container: Container) -> None:
    customer_id = register(container)
    token = raw_row(container, customer_id)["name"]
    assert token is not None
    at = len("v1:1:") + 8  # inside the nonce, away from base64 padding bits
    flipped = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]
    set_raw(container, customer_id, "name", flipped)
    with pytest.raises(CryptoDecryptFailed) as err:
        load(container, customer_id)
    assert err.value.code == "crypto_decrypt_failed"


def test_a_token_moved_to_another_row_or_column_fails(container: Container) -> None:
    first = register(container)
    second = register(container, phone="13900000000", id_number="440106199001011234")
    set_raw(container, second, "id_number", raw_row(container, first)["id_number"] or "")
    with pytest.raises(CryptoDecryptFailed):
        load(container, second)
    set_raw(container, first, "address", raw_row(container, first)["name"] or "")
    with pytest.raises(CryptoDecryptFailed):
        load(container, first)


def test_core_writes_and_plaintext_comparisons_are_refused(container: Container) -> None:
    with pytest.raises(StatementError) as err, container.engine.begin() as conn:
        conn.execute(insert(Customer.__table__).values(id="x", phone=PHONE, phone_bidx="0"))
    assert isinstance(err.value.orig, PlaintextRefused)
    with pytest.raises(StatementError), container.uow() as uow:
        uow.session.scalar(select(Customer).where(Customer.phone == PHONE))


def test_a_failed_insert_leaves_the_object_with_its_plaintext(container: Container) -> None:
    register(container)
    duplicate = Customer(phone=PHONE, status="registered", created_at=container.clock.now())
    duplicate.updated_at = container.clock.now()
    with pytest.raises(IntegrityError), container.uow() as uow:
        uow.session.add(duplicate)
        uow.flush()
    assert duplicate.phone == PHONE
    duplicate.phone = "13900000000"
    with container.uow() as uow:
        uow.session.add(duplicate)
        uow.commit()
    assert load(container, duplicate.id).phone == "13900000000"


def test_repr_masks_personal_data(container: Container) -> None:
    customer = load(container, register(container))
    shown = repr(customer)
    assert "138****5678" in shown and customer.id in shown
    for secret in SECRETS:
        assert secret not in shown


def test_get_or_create_returns_the_winner_of_a_race(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request registers the phone between our look-up and our insert."""
    winner = register(container)
    real_find = registry.find_by_phone
    calls = []

    def find_after_losing(session: Session, keyring: KeyRing, phone: str) -> Customer | None:
        calls.append(phone)
        return None if len(calls) == 1 else real_find(session, keyring, phone)

    monkeypatch.setattr(registry, "find_by_phone", find_after_losing)
    with container.uow() as uow:
        got = registry.get_or_create_by_phone(
            uow.session, container.keyring, container.clock, PHONE
        )
        assert got.id == winner and got.name == NAME
        uow.commit()
    assert len(calls) == 2


@pytest.mark.postgres_only
def test_concurrent_registrations_of_one_phone_make_one_customer(container: Container) -> None:
    barrier, ids, errors = threading.Barrier(6), [], []

    def register_once() -> None:
        try:
            with container.uow() as uow:
                barrier.wait(timeout=10)
                customer = registry.get_or_create_by_phone(
                    uow.session, container.keyring, container.clock, PHONE
                )
                uow.commit()
                ids.append(customer.id)
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=register_once) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and len(set(ids)) == 1 and len(ids) == 6


def test_matches_needs_a_blind_indexed_column(container: Container) -> None:
    with pytest.raises(PiiMisconfigured):
        matches(Customer.name, NAME, container.keyring)
    with container.uow() as uow:
        assert session_keyring(uow.session) is container.keyring
    with pytest.raises(PiiMisconfigured), Session(container.engine) as bare:
        session_keyring(bare)


def test_a_blind_index_without_its_column_is_a_configuration_error() -> None:
    class Other(DeclarativeBase):
        pass

    class Broken(Other):
        __tablename__ = "broken"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        phone: Mapped[str] = mapped_column(EncryptedString(blind_index="phone"))

    try:
        with pytest.raises(PiiMisconfigured, match="phone_bidx"):
            Other.registry.configure()
    finally:
        Other.registry.dispose()
    assert Broken.__tablename__ == "broken"
