import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from greenbank.clock import FixedClock, business_date
from greenbank.ids import new_id, uuid7


def test_uuid7_has_version_and_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122


def test_uuid7_sorts_by_time() -> None:
    ids = [str(uuid7(now_ms=ms)) for ms in (1_000, 2_000, 3_000_000_000_000)]
    assert ids == sorted(ids)
    assert len({new_id() for _ in range(1000)}) == 1000


def test_new_ids_increase_strictly_within_a_millisecond() -> None:
    """Rows made in one millisecond still sort in the order they were made."""
    ids = [new_id() for _ in range(20_000)]  # far more than one a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)


def test_new_ids_from_threads_are_unique_and_each_threads_increase() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(i: int) -> None:
        made[i] = [new_id() for _ in range(5_000)]

    threads = [threading.Thread(target=make, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids == sorted(ids) for ids in made)
    assert len({i for ids in made for i in ids}) == 20_000


def test_new_id_is_the_text_of_a_uuid7() -> None:
    text = new_id()
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_business_date_is_shanghai() -> None:
    # 16:30 UTC on 31 Dec is already 1 Jan in Shanghai (UTC+8).
    assert business_date(datetime(2025, 12, 31, 16, 30, tzinfo=UTC)) == date(2026, 1, 1)
    assert business_date(datetime(2025, 12, 31, 15, 59, tzinfo=UTC)) == date(2025, 12, 31)
    with pytest.raises(ValueError, match="naive"):
        business_date(datetime(2025, 1, 1))  # noqa: DTZ001


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(days=1))
    assert clock.today() == date(2026, 1, 2)
