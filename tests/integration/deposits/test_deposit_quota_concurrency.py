"""Real concurrent buyers on PostgreSQL: the product row lock keeps quota_used within the quota."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from deposits_support import MakeProduct
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.deposits.catalogue import reserve_quota
from greenbank.deposits.models import Product
from greenbank.errors import GreenbankError

THREADS = 16
SLICE_FEN = 10_000  # 100 CNY a purchase
QUOTA_FEN = 5 * SLICE_FEN + 5_000  # room for five purchases and a half


@pytest.mark.postgres_only
def test_sixteen_buyers_never_exceed_the_quota(
    container: Container, make_product: MakeProduct
) -> None:
    product = make_product(total_quota_fen=QUOTA_FEN)
    start = threading.Barrier(THREADS)

    def buy(_: int) -> str:
        start.wait()
        try:
            with container.uow() as unit:
                reserve_quota(unit.session, product.id, SLICE_FEN, 0, now=container.clock.now())
                unit.commit()
        except GreenbankError as err:
            return err.code
        return "ok"

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(buy, range(THREADS)))
    assert outcomes.count("ok") == 5
    assert outcomes.count("quota_exhausted") == THREADS - 5
    with container.uow() as unit:
        used = unit.session.scalar(select(Product.quota_used_fen).where(Product.id == product.id))
    assert used == 5 * SLICE_FEN
