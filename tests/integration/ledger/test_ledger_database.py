"""What the database itself enforces, what verify catches, and what survives a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from ledger_harness import Books
from sqlalchemy import exc, func, select, text
from typer.testing import CliRunner

from greenbank.cli import app
from greenbank.ledger import commands
from greenbank.ledger.models import Entry
from greenbank.ledger.posting import ACCOUNTS


def test_postings_and_entries_are_append_only(books: Books) -> None:
    books.top_up(books.alice, 100, "t1")
    for statement in (
        "UPDATE ledger_postings SET amount_fen = amount_fen * 2",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET description = 'x'",
        "DELETE FROM ledger_entries",
    ):
        with pytest.raises(exc.DBAPIError, match="append-only"), books.container.uow() as uow:
            uow.session.execute(text(statement))
            uow.commit()
    books.verify_clean()


@pytest.mark.postgres_only
def test_postgres_rejects_an_unbalanced_entry_at_commit(books: Books) -> None:
    with books.container.uow() as uow:
        ids = dict(uow.session.execute(select(ACCOUNTS.c.code, ACCOUNTS.c.id)).all())
    insert_entry = text(
        "INSERT INTO ledger_entries (id, code, idempotency_key, fingerprint, value_date,"
        " posted_at, description, metadata, currency) VALUES ('e1', 'adjustment', 'raw', 'x',"
        " '2026-03-02', now(), '', '{}', 'CNY')"
    )
    insert_leg = text(
        "INSERT INTO ledger_postings (entry_id, account_id, amount_fen, balance_after_fen,"
        " value_date) VALUES ('e1', :account, :amount, 0, '2026-03-02')"
    )
    with pytest.raises(exc.IntegrityError, match="unbalanced"), books.container.uow() as uow:
        uow.session.execute(insert_entry)
        uow.session.execute(insert_leg, {"account": ids[books.alice], "amount": 100})
        uow.session.execute(insert_leg, {"account": ids[books.bob], "amount": -99})
        uow.flush()  # accepted statement by statement: the check is deferred to COMMIT
        uow.commit()
    with books.container.uow() as uow:  # a balanced raw entry is accepted
        uow.session.execute(insert_entry)
        uow.session.execute(insert_leg, {"account": ids[books.alice], "amount": 100})
        uow.session.execute(insert_leg, {"account": ids[books.bob], "amount": -100})
        uow.commit()


def test_verify_reports_a_drifted_balance_and_the_cli_fails(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    books.top_up(books.alice, 100, "t1")
    runner = CliRunner()
    monkeypatch.setenv("GREENBANK_DATABASE_URL", books.container.settings.database_url)
    clean = runner.invoke(app, ["ledger", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "ledger is clean" in clean.output
    with books.container.uow() as uow:
        uow.session.execute(text("UPDATE ledger_balances SET posted_fen = posted_fen + 1"))
        uow.commit()
    report = commands.verify_ledger(uow_factory=books.container.uow)
    failed = {check.name: check for check in report.checks if not check.ok}
    assert set(failed) == {"balances", "guards"}  # +1 fen debit drift: bob now owes -1 fen
    assert any(books.alice in problem for problem in failed["balances"].problems)
    dirty = runner.invoke(app, ["ledger", "verify"])
    assert dirty.exit_code == 1
    assert "LEDGER HAS DIFFERENCES" in dirty.output


CRASHING_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from greenbank.bootstrap import build_container
    from greenbank.config import Settings
    from greenbank.ledger import service
    from greenbank.ledger.domain import EntrySpec

    container = build_container(Settings(database_url=sys.argv[1], _env_file=None))
    with container.uow() as uow:
        spec = EntrySpec.transfer(code="top_up", idempotency_key="crash",
            debit="bank:card_clearing", credit=sys.argv[2], amount_fen=500)
        service.post_entry(uow.session, clock=container.clock, spec=spec)
        uow.flush()
        print("flushed", flush=True)
        time.sleep(60)
        uow.commit()
    """
)


def test_a_process_killed_between_flush_and_commit_leaves_no_trace(
    books: Books, tmp_path: Path
) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCRIPT)
    url = books.container.settings.database_url
    proc = subprocess.Popen(
        [sys.executable, str(script), url, books.alice], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "flushed"
    finally:
        proc.kill()  # SIGKILL: no rollback, no cleanup
        proc.wait(timeout=10)
    with books.container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Entry)) == 0
    assert books.balance(books.alice) == 0
    books.verify_clean()
    books.top_up(books.alice, 500, "crash")  # the key is free: the write never happened
    books.verify_clean()
