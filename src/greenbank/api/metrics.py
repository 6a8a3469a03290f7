"""A Prometheus collector for the database connection pool."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


class DbPoolCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.engine.pool
        gauge = GaugeMetricFamily(
            "greenbank_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        if isinstance(pool, QueuePool):
            gauge.add_metric(["checked_out"], pool.checkedout())
            gauge.add_metric(["checked_in"], pool.checkedin())
            gauge.add_metric(["overflow"], max(pool.overflow(), 0))
            gauge.add_metric(["size"], pool.size())
        yield gauge
