"""Ledger: ``greenbank_post_entry`` with statements PostgreSQL plans once, not on every call.

Migration 0014's function locked, checked and updated the balance rows with statements over
arrays (``code = ANY (p_accounts)``, ``UPDATE ... FROM unnest(...)``). PL/pgSQL caches a plan
per statement, but for these the generic plan is a sequential scan with a hash join, costed
above a custom plan, so PostgreSQL planned them afresh on every call: `perf` showed 27 % of the
server's CPU in the planner under the ledger bench. This version does the same work leg by leg
with scalar parameters, so every statement has a cheap generic index plan and is planned once
per connection. pgbench calling the function went from ~4,470 to ~7,300 entries/s on the 2-CPU
bench host (``docs/performance.md``).

What it does and answers is unchanged: look up the key; find each account by code; lock the
balance rows in account-id order and check status, currency and the ``no_overdraft`` guard on
each; append the entry, its postings with running balances, and the totals. Anything not plain
(a used key, a missing or closed account, a shortfall, a lost race) writes nothing and says
why, and the Python path handles it on the same transaction. SQLite has nothing to do.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ok: open, same currency, a known guard; for no_overdraft only a decrease that leaves the
# available balance (natural balance minus held) at or above zero. An unknown type is not ok.
PG_POST_ENTRY = """
CREATE OR REPLACE FUNCTION greenbank_post_entry(
    p_id varchar, p_code varchar, p_key varchar, p_fingerprint varchar, p_value_date date,
    p_posted_at timestamptz, p_description varchar, p_metadata json, p_currency varchar,
    p_reverses varchar, p_accounts varchar[], p_amounts bigint[]
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_ids varchar[] := '{}';
    v_after bigint[] := '{}';
    v_id varchar;
    v_ok boolean;
    v_guarded boolean;
    v_sign int;
    v_posted bigint;
    v_held bigint;
    k int;
BEGIN
    PERFORM 1 FROM ledger_entries WHERE idempotency_key = p_key;
    IF FOUND THEN
        RETURN 'key_used';
    END IF;
    FOR i IN 1 .. cardinality(p_accounts) LOOP
        SELECT a.id INTO v_id FROM ledger_accounts a WHERE a.code = p_accounts[i];
        IF NOT FOUND THEN
            RETURN 'refused';
        END IF;
        v_ids[i] := v_id;
    END LOOP;
    FOR k IN SELECT o FROM generate_subscripts(v_ids, 1) AS o ORDER BY v_ids[o] LOOP
        SELECT a.status = 'open' AND a.currency = p_currency
                   AND a.guard IN ('none', 'no_overdraft'),
               a.guard = 'no_overdraft',
               CASE WHEN a.type IN ('asset', 'expense') THEN 1
                    WHEN a.type IN ('liability', 'income', 'equity') THEN -1 END,
               b.posted_fen, b.held_fen
          INTO v_ok, v_guarded, v_sign, v_posted, v_held
          FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
         WHERE a.id = v_ids[k]
           FOR UPDATE OF b;
        IF v_ok IS NOT TRUE OR v_sign IS NULL OR (
            v_guarded AND v_sign * p_amounts[k] < 0
            AND v_sign * (v_posted + p_amounts[k]) - v_held < 0
        ) THEN
            RETURN 'refused';
        END IF;
        v_after[k] := v_posted + p_amounts[k];
    END LOOP;
    INSERT INTO ledger_entries (id, code, idempotency_key, fingerprint, value_date, posted_at,
                                description, metadata, currency, reverses_entry_id)
    VALUES (p_id, p_code, p_key, p_fingerprint, p_value_date, p_posted_at, p_description,
            p_metadata, p_currency, p_reverses)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'conflict';
    END IF;
    INSERT INTO ledger_postings (entry_id, account_id, amount_fen, balance_after_fen, value_date)
    SELECT p_id, u.account_id, u.amount, u.after, p_value_date
      FROM unnest(v_ids, p_amounts, v_after) AS u (account_id, amount, after);
    FOR i IN 1 .. cardinality(v_ids) LOOP
        UPDATE ledger_balances SET posted_fen = v_after[i] WHERE account_id = v_ids[i];
    END LOOP;
    RETURN 'posted';
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_POST_ENTRY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        previous = importlib.import_module("greenbank.migrations.versions.0014_ledger_fast_path")
        op.execute(previous.PG_POST_ENTRY.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
