"""Constants and factory types shared by the carbon unit tests (imported by path)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from greenbank.carbon.pipeline import PipelineContext, RawEvent

NOW = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
GRANTED = datetime(2026, 1, 1, tzinfo=UTC)

EventFactory = Callable[..., RawEvent]
ContextFactory = Callable[..., PipelineContext]
