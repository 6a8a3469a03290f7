"""The pure double-entry rules, with hand-computed examples."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.errors import GreenbankError
from greenbank.ledger import domain
from greenbank.ledger.domain import (
    AccountFacts,
    AccountStatus,
    AccountType,
    EntrySpec,
    Guard,
    PostingSpec,
)

CLASS2 = AccountFacts(
    id="a1",
    code="customer:1:class2",
    type=AccountType.LIABILITY,
    currency="CNY",
    status=AccountStatus.OPEN,
    guard=Guard.NO_OVERDRAFT,
    posted_fen=-10_000,  # credited 100.00 CNY
    held_fen=3_000,
)
CLEARING = AccountFacts(
    id="a2",
    code="bank:card_clearing",
    type=AccountType.ASSET,
    currency="CNY",
    status=AccountStatus.OPEN,
    guard=Guard.NONE,
    posted_fen=10_000,
    held_fen=0,
)


def code_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(GreenbankError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.code


def test_natural_sign_per_account_type() -> None:
    assert domain.natural(AccountType.ASSET, 500) == 500
    assert domain.natural(AccountType.EXPENSE, 500) == 500
    for kind in (AccountType.LIABILITY, AccountType.INCOME, AccountType.EQUITY):
        assert domain.natural(kind, -500) == 500
    assert CLASS2.balance == 10_000
    assert CLASS2.available == 7_000


def test_shape_rules() -> None:
    ok = EntrySpec.transfer(code="top_up", idempotency_key="k", debit="a", credit="b", amount_fen=1)
    domain.check_shape(ok)
    assert code_of(domain.check_shape, replace(ok, postings=ok.postings[:1])) == "invalid_entry"
    unbalanced = (PostingSpec("a", 5), PostingSpec("b", -4))
    assert code_of(domain.check_shape, replace(ok, postings=unbalanced)) == "unbalanced_entry"
    zero = (PostingSpec("a", 0), PostingSpec("b", 0))
    assert code_of(domain.check_shape, replace(ok, postings=zero)) == "invalid_entry"
    same = (PostingSpec("a", 5), PostingSpec("a", -5))
    assert code_of(domain.check_shape, replace(ok, postings=same)) == "invalid_entry"
    floats = (PostingSpec("a", 1.0), PostingSpec("b", -1.0))  # type: ignore[arg-type]
    assert code_of(domain.check_shape, replace(ok, postings=floats)) == "invalid_entry"
    assert code_of(domain.check_shape, replace(ok, idempotency_key="")) == "invalid_entry"
    assert code_of(domain.check_shape, replace(ok, code="Top Up")) == "invalid_entry"


def test_account_checks() -> None:
    spec = EntrySpec.transfer(
        code="withdrawal",
        idempotency_key="k",
        debit=CLASS2.code,
        credit=CLEARING.code,
        amount_fen=100,
    )
    accounts = {CLASS2.code: CLASS2, CLEARING.code: CLEARING}
    domain.check_accounts(spec, accounts)
    assert code_of(domain.check_accounts, spec, {CLASS2.code: CLASS2}) == "account_not_found"
    closed = {**accounts, CLASS2.code: replace(CLASS2, status=AccountStatus.CLOSED)}
    assert code_of(domain.check_accounts, spec, closed) == "account_closed"
    mixed = {**accounts, CLEARING.code: replace(CLEARING, currency="USD")}
    assert code_of(domain.check_accounts, spec, mixed) == "currency_mismatch"


def test_guard_counts_holds_and_only_refuses_decreases() -> None:
    domain.check_guard(CLASS2, 7_000)  # debit 70.00 leaves exactly 0 available
    assert code_of(domain.check_guard, CLASS2, 7_001) == "insufficient_funds"
    domain.check_guard(CLASS2, 0, held_delta=7_000)  # a new hold for all that is available
    assert code_of(domain.check_guard, CLASS2, 0, held_delta=7_001) == "insufficient_funds"
    domain.check_guard(CLASS2, 10_000, held_delta=-3_000)  # posting a hold frees it first
    overdrawn = replace(CLASS2, posted_fen=500)  # somehow -5.00: a credit is still welcome
    domain.check_guard(overdrawn, -100)
    domain.check_guard(CLEARING, -1_000_000)  # unguarded accounts may go anywhere


def test_hold_post_amount_rules() -> None:
    domain.check_hold_post(CLASS2, 3_000, 3_000)
    domain.check_hold_post(CLASS2, 3_000, 1)
    assert code_of(domain.check_hold_post, CLASS2, 3_000, 3_001) == "hold_amount_exceeded"
    assert code_of(domain.check_hold_post, CLASS2, 3_000, -5) == "invalid_entry"


def test_account_definitions() -> None:
    domain.check_account_definition("customer:0192-ab:class2", "CNY")
    assert code_of(domain.check_account_definition, "Bank Clearing", "CNY") == "invalid_account"
    assert code_of(domain.check_account_definition, "bank:x", "USD") == "unsupported_currency"


def test_fingerprint_ignores_leg_order_but_not_content() -> None:
    spec = EntrySpec.transfer(
        code="top_up", idempotency_key="k", debit="a", credit="b", amount_fen=5
    )
    swapped = replace(spec, postings=tuple(reversed(spec.postings)))
    assert domain.entry_fingerprint(spec) == domain.entry_fingerprint(swapped)
    assert domain.entry_fingerprint(spec) != domain.entry_fingerprint(
        replace(spec, description="other")
    )
    assert domain.entry_fingerprint(spec) == domain.entry_fingerprint(
        replace(spec, idempotency_key="other")  # the key names the request; it is not content
    )


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12).filter(bool), min_size=1))
def test_a_mirror_cancels_every_leg(amounts: list[int]) -> None:
    legs = [PostingSpec(f"acct:{n}", amount) for n, amount in enumerate(amounts)]
    mirrored = domain.mirror(legs)
    assert [a.amount_fen + b.amount_fen for a, b in zip(legs, mirrored, strict=True)] == [0] * len(
        legs
    )
    assert [leg.account for leg in mirrored] == [leg.account for leg in legs]
