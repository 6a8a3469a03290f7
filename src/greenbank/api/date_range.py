"""The business-day range of the staff figures endpoints (receipts, carbon certificates): one
rule and one error code, so a console asks every per-day report the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query

from greenbank.api.deps import ContainerDep
from greenbank.clock import business_date
from greenbank.errors import ValidationFailed

DEFAULT_DAYS = 30
MAX_DAYS = 366
RANGE_PROBLEM: dict[int | str, dict[str, object]] = {
    422: {"description": f"invalid_date_range: date_from after date_to, or over {MAX_DAYS} days"}
}
_FROM_DEFAULT = f"Default: {DEFAULT_DAYS - 1} days before date_to (both ends included)"


class BadRange(ValidationFailed):
    code = "invalid_date_range"
    title = "The date range is not valid"


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date  # included


def day_range(
    container: ContainerDep,
    date_from: Annotated[date | None, Query(description=_FROM_DEFAULT)] = None,
    date_to: Annotated[date | None, Query(description="Default: today (Beijing)")] = None,
) -> DayRange:
    """The asked range, bounded so one request never scans more than a year of rows."""
    last = date_to or business_date(container.clock.now())
    first = date_from or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last or (last - first).days >= MAX_DAYS:
        raise BadRange(f"date_from must be on or before date_to, at most {MAX_DAYS} days")
    return DayRange(first, last)


DayRangeDep = Annotated[DayRange, Depends(day_range)]
