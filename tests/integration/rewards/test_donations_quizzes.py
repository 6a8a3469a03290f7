"""Donations (progress, target, idempotency, sealed certificate), the daily quiz (first answer
counts, daily cap), saved footprints, and the rewards CLI — on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rewards_support import STAFF, carbon_customer, points_of
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.carbon.errors import InsufficientPoints
from greenbank.receipts.runtime import runtime
from greenbank.receipts.verify import verify_receipt_pdf
from greenbank.rewards import donations, footprints, perks, quizzes
from greenbank.rewards.common import IdempotencyKeyReused, RewardNotFound
from greenbank.rewards.schemas import DonateIn, FootprintIn, ProjectIn, QuestionIn


def project(container: Container, target: int = 10) -> None:
    spec = ProjectIn(
        code="TREES", name="植树", partner="基金会", unit_name="棵", points_per_unit=200,
        target_units=target,
    )  # fmt: skip
    donations.create_project(uow=container.uow, clock=container.clock, spec=spec, by=STAFF)


def donate(container: Container, customer: str, key: str, units: int):  # type: ignore[no-untyped-def]
    return donations.donate(
        uow=container.uow, clock=container.clock, customer_id=customer,
        request=DonateIn(project_code="TREES", units=units), idempotency_key=key,
    )  # fmt: skip


def test_donations_fund_the_project_once_per_key_up_to_its_target(container: Container) -> None:
    project(container, target=5)
    alice, bob = carbon_customer(container, 1_000), carbon_customer(container, 1_000)
    first = donate(container, alice, "a1", 2)
    assert donate(container, alice, "a1", 2).id == first.id
    with pytest.raises(IdempotencyKeyReused):
        donate(container, alice, "a1", 3)
    donate(container, alice, "a2", 1)
    with pytest.raises(donations.ProjectFullyFunded):
        donate(container, bob, "b1", 3)
    with pytest.raises(InsufficientPoints):
        donate(container, bob, "b2", 6)
    donate(container, bob, "b3", 2)
    [progress] = donations.list_projects(uow=container.uow)
    assert (progress.funded_units, progress.donors) == (5, 2)
    assert (points_of(container, alice), points_of(container, bob)) == (400, 600)
    assert [d.units for d in donations.list_donations(uow=container.uow, customer_id=alice)] == [
        1,
        2,
    ]


def test_the_certificate_is_sealed_and_only_for_its_donor(container: Container) -> None:
    project(container)
    alice, bob = carbon_customer(container, 1_000), carbon_customer(container, 1_000)
    gift = donate(container, alice, "a", 1)
    rt = runtime(container)
    kw = {"uow": container.uow, "bank_name": rt.bank_name, "identity": rt.identity}
    pdf = donations.certificate(**kw, customer_id=alice, donation_id=gift.id)
    result = verify_receipt_pdf(pdf, rt.trust_roots)
    assert result.valid and result.receipt_no == gift.certificate_no
    tampered = pdf.replace(b"/Creator", b"/Creatox", 1)
    assert not verify_receipt_pdf(tampered, rt.trust_roots).valid
    with pytest.raises(RewardNotFound):
        donations.certificate(**kw, customer_id=bob, donation_id=gift.id)


def add_question(container: Container, answer: int = 1) -> str:
    kw = {"uow": container.uow, "clock": container.clock, "by": STAFF}
    spec = QuestionIn(
        prompt="?", choices=["a", "b", "c"], answer=answer, explanation="because", source="src"
    )
    row = quizzes.create_question(**kw, spec=spec)
    quizzes.set_status(**kw, kind="question", row_id=row.id, status="published")
    return row.id


def test_daily_quiz_first_answer_counts_within_the_cap(container: Container) -> None:
    for _ in range(3):
        add_question(container, answer=1)
    draft = quizzes.create_question(
        uow=container.uow, clock=container.clock, by=STAFF,
        spec=QuestionIn(prompt="draft", choices=["x", "y"], answer=0, explanation="e", source="s"),
    )  # fmt: skip
    customer = carbon_customer(container, 0)
    kw = {"uow": container.uow, "clock": container.clock, "customer_id": customer}
    today = quizzes.daily_quiz(**kw)
    assert len(today) == 3 and draft.id not in {q.id for q in today}
    q1, q2, q3 = (q.id for q in today)
    first = quizzes.answer(**kw, question_id=q1, chosen=1)
    assert (first.correct, first.points, first.points_today) == (True, 5, 5)
    repeat = quizzes.answer(**kw, question_id=q1, chosen=1)
    assert (repeat.replayed, repeat.points, repeat.points_today) == (True, 0, 5)
    wrong = quizzes.answer(**kw, question_id=q2, chosen=0)
    assert (wrong.correct, wrong.points, wrong.explanation) == (False, 0, "because")
    assert quizzes.answer(**kw, question_id=q2, chosen=1).correct is False  # the first counts
    third = quizzes.answer(**kw, question_id=q3, chosen=1)
    assert (third.points, third.points_today, third.daily_cap) == (5, 10, 10)
    assert all(q.answered for q in quizzes.daily_quiz(**kw))
    with pytest.raises(RewardNotFound):
        quizzes.answer(**kw, question_id=draft.id, chosen=0)


def test_footprints_are_saved_over_time(container: Container) -> None:
    kw = {"uow": container.uow, "clock": container.clock, "customer_id": "c-1"}
    first = footprints.calculate_and_save(
        **kw, spec=FootprintIn(electricity_kwh_per_month=Decimal(200))
    )
    assert first.total_kg_per_year == "1273.44"
    assert first.lines[0]["factors"][0]["source"] == "MEE/NBS national average, latest"
    assert first.national_average["status"] == "provisional"
    footprints.calculate_and_save(**kw, spec=FootprintIn(electricity_kwh_per_month=Decimal(150)))
    history = footprints.history(uow=container.uow, customer_id="c-1")
    assert [h.total_kg_per_year for h in history] == ["955.08", "1273.44"]


def test_cli_evaluates_perks_and_exports(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greenbank.cli import rewards as cli

    monkeypatch.setattr(cli, "open_container", lambda: container)
    monkeypatch.setattr(container, "close", lambda: None)
    rule = {
        "code": "instalment", "kind": "instalment_discount",
        "conditions": [{"field": "points_balance", "op": ">=", "value": 100}],
        "params": {"discount_percent": 50, "max_instalments": 12},
    }  # fmt: skip
    made = perks.create_rule(uow=container.uow, clock=container.clock, definition=rule, by=STAFF)
    perks.submit_rule(uow=container.uow, clock=container.clock, rule_id=made.id, by=STAFF)
    perks.approve_rule(uow=container.uow, clock=container.clock, rule_id=made.id, by="checker")
    customer = carbon_customer(container, 500)
    runner = CliRunner()
    ran = runner.invoke(cli.app, ["evaluate-perks", "--date", "2026-03-02"])
    assert ran.exit_code == 0, ran.output
    assert "1 active rules, 1 customers, 1 rights granted" in ran.output
    exported = runner.invoke(cli.app, ["export-card-coupons", "--date", "2026-03-10"])
    assert exported.exit_code == 0, exported.output
    header, row = exported.output.strip().splitlines()
    assert header.startswith("customer_id,kind,right_id,valid_from,valid_until,coupon_code")
    assert row.startswith(f"{customer},instalment_discount,") and ",GB" in row and ",50,12," in row


def test_the_demo_seed_runs_twice_without_changes(container: Container) -> None:
    from greenbank.rewards import seed

    created = seed.seed(container)
    assert len(created) == 1 + 3 + 3 + 1  # project, items, rules, content
    assert seed.seed(container) == []
    quiz = quizzes.daily_quiz(uow=container.uow, clock=container.clock, customer_id="c-1")
    assert len(quiz) == 3
    assert len(perks.list_rules(uow=container.uow)) == 3
