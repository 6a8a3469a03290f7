"""Ledger: ``greenbank_post_entry``, PostgreSQL's one-round-trip posting of an entry.

The function does what ``greenbank.ledger.posting`` does for an entry that passes every rule:
look up the key, lock the balance rows in account-id order, check status, currency and guards,
append the entry and its postings (with running balances) and move the totals. If anything is
not plain (a used key, a missing or closed account, a shortfall, a lost race) it writes nothing
and says why; the Python path then handles that case on the same transaction. No tables change,
and SQLite has nothing to do.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ok: open, same currency, and for no_overdraft only a decrease that leaves the available
# balance (natural balance minus held) at or above zero. A NULL (unknown type) is not ok.
PG_POST_ENTRY = """
CREATE FUNCTION greenbank_post_entry(
    p_id varchar, p_code varchar, p_key varchar, p_fingerprint varchar, p_value_date date,
    p_posted_at timestamptz, p_description varchar, p_metadata json, p_currency varchar,
    p_reverses varchar, p_accounts varchar[], p_amounts bigint[]
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_found bigint;
    v_ok boolean;
    v_ids varchar[];
    v_after bigint[];
BEGIN
    PERFORM 1 FROM ledger_entries WHERE idempotency_key = p_key;
    IF FOUND THEN
        RETURN 'key_used';
    END IF;
    SELECT count(*),
           bool_and(s.status = 'open' AND s.currency = p_currency AND (
               s.guard = 'none' OR (s.guard = 'no_overdraft' AND (
                   s.sign * l.amount >= 0 OR s.sign * (s.posted_fen + l.amount) - s.held_fen >= 0
               )))),
           array_agg(s.id ORDER BY l.ord),
           array_agg(s.posted_fen + l.amount ORDER BY l.ord)
      INTO v_found, v_ok, v_ids, v_after
      FROM (SELECT a.id, a.code, a.currency, a.status, a.guard, b.posted_fen, b.held_fen,
                   CASE WHEN a.type IN ('asset', 'expense') THEN 1
                        WHEN a.type IN ('liability', 'income', 'equity') THEN -1 END AS sign
              FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
             WHERE a.code = ANY (p_accounts)
             ORDER BY a.id
               FOR UPDATE OF b) s
      JOIN unnest(p_accounts, p_amounts) WITH ORDINALITY AS l (code, amount, ord)
        ON l.code = s.code;
    IF v_found <> cardinality(p_accounts) OR v_ok IS NOT TRUE THEN
        RETURN 'refused';
    END IF;
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
    UPDATE ledger_balances b SET posted_fen = u.after
      FROM unnest(v_ids, v_after) AS u (account_id, after)
     WHERE b.account_id = u.account_id;
    RETURN 'posted';
END $$;
"""

SIGNATURE = (
    "greenbank_post_entry(varchar, varchar, varchar, varchar, date, timestamptz, varchar, json,"
    " varchar, varchar, varchar[], bigint[])"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_POST_ENTRY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {SIGNATURE}")
