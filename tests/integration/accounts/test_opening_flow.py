"""The opening state machine against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import select, text
from tests.integration.accounts.opening_support import CONSENTS, confirmed, sign_up, walk

from greenbank.accounts import consents, kyc_steps, onboarding, review, wiring
from greenbank.accounts.errors import ApplicationInProgress, WrongStep
from greenbank.accounts.models import ApplicationState, BoundCard, ClassIIAccount, ConsentKind
from greenbank.audit.service import recent
from greenbank.bootstrap import Container
from greenbank.bus.models import OutboxEvent
from greenbank.customers.account_numbers import is_valid_account_number
from greenbank.customers.identity import IdExpired
from greenbank.customers.models import Customer
from greenbank.ledger.service import get_account


def test_wang_xiaoming_opens_an_account(container: Container) -> None:
    svc, customer_id, app = walk(container, "wang_xiaoming")
    assert app.state == ApplicationState.CARD_BOUND
    opened = review.submit(svc, customer_id=customer_id, application_id=app.id)
    assert opened.state == ApplicationState.OPENED
    with container.uow() as work:
        account = work.session.scalars(select(ClassIIAccount)).one()
        card = work.session.scalars(select(BoundCard)).one()
        customer = work.session.get_one(Customer, customer_id)
        ledger = get_account(work.session, f"customer:{customer_id}:class2")
        assert account.ledger_account_id == ledger.id
        assert account.account_number.startswith("6231880001")
        assert card.masked_number == "6217 27** **** ***0 015"
        assert customer.status == "verified"
        assert customer.name == "王小明"
        raw = work.session.execute(text("SELECT id_number FROM customers")).scalar_one()
        assert "440106199003071231" not in raw


def test_numbers_are_sequential_luhn_valid_and_an_event_is_published(
    container: Container,
) -> None:
    opened = []
    for person in ("wang_xiaoming", "wu_shi"):
        svc, customer_id, app = walk(container, person, device=f"d-{person}")
        opened.append(review.submit(svc, customer_id=customer_id, application_id=app.id))
    with container.uow() as work:
        numbers = [
            work.session.get_one(ClassIIAccount, a.account_id).account_number for a in opened
        ]
        events = work.session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.event_type == "accounts.opened")
        ).all()
    assert numbers == ["6231880001000000016", "6231880001000000024"]
    assert all(is_valid_account_number(n, prefix="6231880001") for n in numbers)
    assert len(events) == 2 and set(events[0]) == {
        "account_id",
        "customer_id",
        "application_id",
        "branch_code",
        "opened_at",
    }


def test_one_open_application_per_person_across_customers(container: Container) -> None:
    svc, first, app = walk(container, "wang_xiaoming", until=ApplicationState.ID_VERIFIED)
    _, second, other = walk(
        container, "wang_xiaoming", phone="13926265555", until=ApplicationState.ID_CAPTURED
    )
    with pytest.raises(ApplicationInProgress):
        kyc_steps.confirm_id(
            svc, customer_id=second, application_id=other.id, fields=confirmed("wang_xiaoming")
        )
    with pytest.raises(ApplicationInProgress):
        onboarding.start(svc, customer_id=first, consents=CONSENTS)
    onboarding.cancel(svc, customer_id=first, application_id=app.id)
    confirmed_app = kyc_steps.confirm_id(
        svc, customer_id=second, application_id=other.id, fields=confirmed("wang_xiaoming")
    )
    assert confirmed_app.state == ApplicationState.ID_VERIFIED


def test_revoking_the_face_consent_cancels_and_forgets_the_template(container: Container) -> None:
    svc, customer_id, app = walk(container, "wang_xiaoming", until=ApplicationState.FACE_VERIFIED)
    assert (
        consents.revoke_consent(svc, customer_id=customer_id, kind=ConsentKind.SENSITIVE_FACE) == 1
    )
    after = onboarding.get(svc, customer_id=customer_id, application_id=app.id)
    assert after.state == ApplicationState.CANCELLED and after.face_template is None
    with pytest.raises(WrongStep):
        kyc_steps.face_challenge(svc, customer_id=customer_id, application_id=app.id)


def test_refusals_leave_an_audit_line_and_no_half_applied_state(container: Container) -> None:
    svc, customer_id, app = walk(container, "sun_ba", until=ApplicationState.ID_CAPTURED)
    with pytest.raises(IdExpired):
        kyc_steps.confirm_id(
            svc, customer_id=customer_id, application_id=app.id, fields=confirmed("sun_ba")
        )
    same = onboarding.get(svc, customer_id=customer_id, application_id=app.id)
    assert (same.state, same.version) == (ApplicationState.ID_CAPTURED, app.version)
    with container.uow() as work:
        lines = recent(work.session, action="accounts.id.confirmed")
        assert [(line.outcome, line.subject) for line in lines] == [("id_expired", app.id)]


def test_no_personal_data_in_logs(container: Container, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    svc, customer_id, app = walk(container, "zhang_san")
    review.submit(svc, customer_id=customer_id, application_id=app.id)
    assert "11010519491231002X" not in caplog.text and "张三" not in caplog.text


@pytest.mark.postgres_only
def test_concurrent_starts_open_one_application(container: Container) -> None:
    svc = wiring.onboarding(container)
    customer_id = sign_up(container, "13926264321")
    outcomes: list[str] = []

    def start() -> None:
        try:
            onboarding.start(svc, customer_id=customer_id, consents=CONSENTS)
            outcomes.append("started")
        except ApplicationInProgress:
            outcomes.append("in_progress")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["in_progress"] * 5 + ["started"]
