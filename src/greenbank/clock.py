"""An injectable clock: storage is UTC; business dates are Asia/Shanghai dates.

Services take a ``Clock`` so that maturity, caps and limits are testable with ``FixedClock``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


def business_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant (value dates, maturities, daily caps)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: storage times must be timezone-aware")
    return instant.astimezone(SHANGHAI).date()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return business_date(self.now())


class FixedClock:
    """A clock for tests and simulations: stands still until moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return business_date(self._now)

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._now = instant
