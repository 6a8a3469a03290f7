"""``greenbank bus`` and ``greenbank worker --once`` against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from bus_support import ThingHappened, outbox_row, publish_one
from sqlalchemy import update
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.bus.models import OutboxEvent
from greenbank.bus.service import DeadLetterNotFound
from greenbank.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GREENBANK_DATABASE_URL", db_url)
    monkeypatch.setenv("GREENBANK_BUS_BROKER_URL", "")
    monkeypatch.setenv("COLUMNS", "200")


def _dead_event(container: Container) -> str:
    event_id = publish_one(container, ThingHappened(n=1), aggregate_id="cli")
    with container.uow() as uow:
        uow.session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == event_id)
            .values(status="dead", last_error="bus_unknown_event_type: test")
        )
        uow.commit()
    return event_id


@pytest.mark.usefixtures("cli_env")
def test_dead_letters_replay_stats_and_worker_once(container: Container) -> None:
    assert "no dead letters" in runner.invoke(app, ["bus", "dead-letters"]).stdout
    event_id = _dead_event(container)

    listed = runner.invoke(app, ["bus", "dead-letters"])
    assert listed.exit_code == 0, listed.output
    assert event_id in listed.stdout
    assert "(routing)" in listed.stdout
    assert "bustest:cli" in listed.stdout

    stats = runner.invoke(app, ["bus", "stats"])
    assert "events: dead=1" in stats.stdout

    replayed = runner.invoke(app, ["bus", "replay", event_id])
    assert replayed.exit_code == 0, replayed.output
    assert f"re-queued 1 dead letter(s) of event {event_id}" in replayed.stdout
    assert outbox_row(container, event_id).status == "pending"
    assert "oldest undelivered event: 2026-03-02" in runner.invoke(app, ["bus", "stats"]).stdout

    worked = runner.invoke(app, ["worker", "--once", "--concurrency", "2"])
    assert worked.exit_code == 0, worked.output
    assert "handled 1 event(s)/deliveries" in worked.stdout
    assert outbox_row(container, event_id).status == "routed"  # no consumer in the registry

    missing = runner.invoke(app, ["bus", "replay", event_id])
    assert isinstance(missing.exception, DeadLetterNotFound)
