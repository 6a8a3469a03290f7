"""Helpers for the PII tests: a KYC'd customer, raw token access and fast bulk loading."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, insert, select, text

from greenbank.bootstrap import Container
from greenbank.customers import registry
from greenbank.customers.models import Customer, CustomerStatus
from greenbank.ids import new_id
from greenbank.pii import seal_rows

ID_NUMBER = "11010519491231002X"  # the GB 11643 worked example
PHONE = "13812345678"
NAME = "张三丰"
ADDRESS = "广东省广州市天河区体育西路1号"


def register(container: Container, phone: str = PHONE, id_number: str = ID_NUMBER) -> str:
    """A verified customer with every personal field set; returns its id."""
    with container.uow() as uow:
        customer = registry.get_or_create_by_phone(
            uow.session, container.keyring, container.clock, phone
        )
        customer.name, customer.id_number, customer.address = NAME, id_number, ADDRESS
        customer.status = CustomerStatus.VERIFIED.value
        uow.commit()
        return customer.id


def raw_row(container: Container, customer_id: str) -> dict[str, str | None]:
    """The stored columns of one customer, as the database holds them (no ORM decryption)."""
    with container.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT phone, phone_bidx, name, id_number, id_number_bidx, address "
                "FROM customers WHERE id = :id"
            ),
            {"id": customer_id},
        ).one()
    return dict(row._mapping)


def set_raw(container: Container, customer_id: str, column: str, value: str) -> None:
    """Write a column behind the ORM's back (what an attacker with database access could do)."""
    with container.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE customers SET {column} = :value WHERE id = :id"),
            {"value": value, "id": customer_id},
        )


def bulk_customers(container: Container, count: int, *, chunk: int = 5_000) -> list[str]:
    """``count`` customers with phone, name and ID number (``4401<13 digits>X``), inserted
    with executemany of sealed rows (the ORM would take minutes for 100,000)."""
    table, now, ids = cast(Table, Customer.__table__), datetime(2026, 3, 2, tzinfo=UTC), []
    for start in range(0, count, chunk):
        rows = []
        for n in range(start, min(start + chunk, count)):
            ids.append(new_id())
            rows.append(
                {
                    "id": ids[-1],
                    "phone": f"139{n:08d}",
                    "name": f"客户{n}",
                    "id_number": f"4401{n:013d}X",
                    "status": "verified",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with container.engine.begin() as conn:
            conn.execute(insert(table), seal_rows(container.keyring, table, rows))
    return ids


def load(container: Container, customer_id: str) -> Customer:
    with container.uow() as uow:
        found = uow.session.scalar(select(Customer).where(Customer.id == customer_id))
        assert found is not None
        uow.session.expunge(found)  # keep it loaded past the read-only unit of work's rollback
        return found
