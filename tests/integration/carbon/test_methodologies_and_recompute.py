"""Maker-checker publication of a new version and re-computation of history by adjustments."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from carbon_db_support import event, open_with
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.carbon import methodologies_admin as admin
from greenbank.carbon import recomputation
from greenbank.carbon.catalog import version_1_entries
from greenbank.carbon.errors import MakerCheckerViolation, MethodologyStateConflict
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.methodology import MethodologyInvalid
from greenbank.carbon.models import CarbonAccount, Entry


def deposit_v2(factor: str = "100", effective: str = "2026-03-01") -> dict[str, Any]:
    [v1] = [e for e in version_1_entries() if e["scenario"] == "online_deposit"]
    v2 = copy.deepcopy(v1)
    v2["version"], v2["effective_from"] = 2, effective
    v2["parameters"][0]["value"] = factor
    v2["examples"] = [{"inputs": {}, "expected_g": factor, "note": "one purchase"}]
    return v2


def publish(container: Container, definition: dict[str, Any]) -> admin.MethodologyView:
    draft = admin.create_draft(container.uow, container.clock, actor="pm", definition=definition)
    admin.submit(container.uow, container.clock, actor="pm", methodology_id=draft.id)
    return admin.approve(container.uow, container.clock, actor="reviewer", methodology_id=draft.id)


def test_a_version_is_published_only_by_another_staff_member(carbon: Container) -> None:
    draft = admin.create_draft(carbon.uow, carbon.clock, actor="pm", definition=deposit_v2())
    assert (draft.status, draft.problems) == ("draft", [])
    with pytest.raises(MethodologyStateConflict):
        admin.approve(carbon.uow, carbon.clock, actor="reviewer", methodology_id=draft.id)
    admin.submit(carbon.uow, carbon.clock, actor="pm", methodology_id=draft.id)
    with pytest.raises(MakerCheckerViolation):
        admin.approve(carbon.uow, carbon.clock, actor="pm", methodology_id=draft.id)
    published = admin.approve(carbon.uow, carbon.clock, actor="reviewer", methodology_id=draft.id)
    assert (published.status, published.approved_by, published.provisional) == (
        "published",
        "reviewer",
        True,
    )


def test_a_version_whose_examples_do_not_reproduce_is_refused(carbon: Container) -> None:
    bad = deposit_v2()
    bad["examples"][0]["expected_g"] = "99"
    draft = admin.create_draft(carbon.uow, carbon.clock, actor="pm", definition=bad)
    assert draft.problems == ["example 1 gives 100000 mg, expected 99000 mg"]
    with pytest.raises(MethodologyInvalid):
        admin.submit(carbon.uow, carbon.clock, actor="pm", methodology_id=draft.id)
    [stored] = [m for m in admin.list_methodologies(carbon.uow) if m.id == draft.id]
    assert stored.status == "draft"


def test_a_version_must_start_after_the_last_one(carbon: Container) -> None:
    draft = admin.create_draft(
        carbon.uow, carbon.clock, actor="pm", definition=deposit_v2(effective="2025-12-01")
    )
    assert draft.problems == ["effective_from must be after 2026-01-01"]


def test_retroactive_version_recomputes_history_with_adjustments(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    open_with(carbon, "c2", scenarios=["online_deposit"])
    now = carbon.clock.now()
    batch = [
        event(f"d{i}", c, "online_deposit", now - timedelta(minutes=i))
        for i, c in enumerate(["c1", "c1", "c2"])
    ]
    ingest_events(carbon.uow, carbon.clock, batch)
    published = publish(carbon, deposit_v2())
    assert published.recompute_needed

    seen: list[int] = []
    done = recomputation.run(
        carbon.uow,
        carbon.clock,
        scenario="online_deposit",
        version=2,
        actor="ops",
        batch_customers=1,
        on_batch=lambda view: seen.append(view.customers_done),
    )
    assert (done.status, done.adjusted, done.delta_mg, done.total_events) == ("done", 3, 33_000, 3)
    assert seen == [1, 2, 2]  # one customer per batch, then the empty batch that finishes
    with carbon.uow() as uow:
        adjustments = uow.session.scalars(select(Entry).where(Entry.kind == "adjustment")).all()
        assert sorted(a.co2e_mg for a in adjustments) == [11_000] * 3
        assert {a.methodology_version for a in adjustments} == {2}
        assert adjustments[0].explanation.startswith("re-computed under v2: 100 g/transaction")
        account = uow.session.get(CarbonAccount, "c1")
        assert account is not None and account.lifetime_mg == 200_000
        originals = uow.session.scalars(select(Entry.co2e_mg).where(Entry.kind == "credit")).all()
        assert sorted(originals) == [89_000] * 3  # history is never edited
    report = recomputation.change_report(carbon.uow, done.id)
    assert [(r.customer_ref, r.events, r.old_mg, r.new_mg) for r in report] == [
        ("c1", 2, 178_000, 200_000),
        ("c2", 1, 89_000, 100_000),
    ]
    again = recomputation.run(
        carbon.uow, carbon.clock, scenario="online_deposit", version=2, actor="ops"
    )
    assert (again.status, again.adjusted) == ("done", 3)
    # New events now use version 2.
    [result] = ingest_events(
        carbon.uow, carbon.clock, [event("d9", "c2", "online_deposit", carbon.clock.now())]
    )
    assert result.credited_mg == 100_000


def test_recompute_resumes_after_an_interrupted_run(carbon: Container) -> None:
    for customer in ("c1", "c2", "c3"):
        open_with(carbon, customer, scenarios=["online_deposit"])
    now = carbon.clock.now()
    ingest_events(
        carbon.uow,
        carbon.clock,
        [event(f"d-{c}", c, "online_deposit", now) for c in ("c1", "c2", "c3")],
    )
    publish(carbon, deposit_v2("80"))
    first = recomputation.run(
        carbon.uow,
        carbon.clock,
        scenario="online_deposit",
        version=2,
        actor="ops",
        batch_customers=2,
        max_batches=1,
    )
    assert (first.status, first.customers_done, first.delta_mg) == ("running", 2, -18_000)
    rest = recomputation.run(
        carbon.uow,
        carbon.clock,
        scenario="online_deposit",
        version=2,
        actor="ops",
        batch_customers=2,
    )
    assert (rest.status, rest.customers_done, rest.adjusted, rest.delta_mg) == (
        "done",
        3,
        3,
        -27_000,
    )
    with carbon.uow() as uow:
        account = uow.session.get(CarbonAccount, "c3")
        # 89 g earned 8 points; the 9 g cut lowers the reduction but takes no points back.
        assert account is not None and (account.lifetime_mg, account.points_balance) == (80_000, 8)
