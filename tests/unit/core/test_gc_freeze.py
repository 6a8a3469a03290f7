"""``freeze_start_up_heap``: on for servers and workers, off by default in tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from greenbank.bootstrap import freeze_start_up_heap
from greenbank.config import Environment, Settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave this test process as it was


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_a_server_freezes_what_it_built_at_start_up(unfrozen: None) -> None:
    kept = [object() for _ in range(10)]  # tracked by the collector, alive
    assert freeze_start_up_heap(_settings(environment=Environment.DEVELOPMENT))
    assert gc.get_freeze_count() >= len(kept)


def test_off_in_the_test_environment_unless_asked(unfrozen: None) -> None:
    assert not freeze_start_up_heap(_settings(environment=Environment.TEST))
    assert gc.get_freeze_count() == 0
    assert freeze_start_up_heap(_settings(environment=Environment.TEST, gc_freeze=True))
    assert gc.get_freeze_count() > 0


def test_a_bank_can_switch_it_off(unfrozen: None) -> None:
    assert not freeze_start_up_heap(_settings(environment=Environment.DEVELOPMENT, gc_freeze=False))
    assert gc.get_freeze_count() == 0
