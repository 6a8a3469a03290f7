"""The daily AML run over settled transfers: totals, alerts, resolution and the CSV report."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from funds_support import World
from sqlalchemy import select

from greenbank.accounts import aml_service
from greenbank.accounts.aml import AmlRules
from greenbank.accounts.funds_errors import AlertAlreadyResolved, ReasonRequired
from greenbank.accounts.funds_models import AlertStatus, AmlDailyAggregate
from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container

DAY = date(2026, 3, 2)
RULES = AmlRules()


@pytest.fixture
def worlds(container: Container) -> tuple[World, World]:
    """A moves 500,000 CNY in and 450,000 straight back out today; B deposits 49,500 CNY three
    days running. All three customers of the fixture opened on one device with a third."""
    a = World.open(container, device_id="dev-x")
    b = World.open(
        container,
        phone="13900001111",
        id_number="440106199001011235",
        card="6222020200119988776",
        device_id="dev-x",
    )
    World.open(
        container,
        phone="13700002222",
        id_number="440106198502021238",
        card="6228480000112233",
        device_id="dev-x",
    )
    clock = a.clock
    clock.advance(timedelta(days=-2))
    for day in range(3):
        clock.advance(timedelta(days=1 if day else 0))
        b.funded(4_950_000)
    a.funded(30_000_000)
    a.funded(20_000_000)
    a.clock.advance(timedelta(hours=3))
    a.withdraw(45_000_000)
    a.settle()
    return a, b


def test_the_daily_run_totals_each_customer_and_raises_each_rule_once(
    container: Container, worlds: tuple[World, World]
) -> None:
    a, b = worlds
    run = aml_service.run_daily(container.uow, container.clock, RULES, on=DAY)
    assert (run.customers, run.flows, run.alerts_created) == (2, 4, 4)
    with container.uow() as uow:
        totals = {
            row.customer_id: (row.in_fen, row.in_count, row.out_fen, row.out_count)
            for row in uow.session.scalars(select(AmlDailyAggregate))
        }
    assert totals == {
        a.customer_id: (50_000_000, 2, 45_000_000, 1),
        b.customer_id: (4_950_000, 1, 0, 0),
    }
    alerts = {(x.rule, x.customer_id) for x in aml_service.list_alerts(container.uow, on=DAY)}
    assert alerts == {
        ("large_value_transfer", a.customer_id),
        ("rapid_in_out", a.customer_id),
        ("just_under_threshold", b.customer_id),
        ("shared_device", None),
    }
    again = aml_service.run_daily(container.uow, container.clock, RULES, on=DAY)
    assert again.alerts_created == 0
    assert len(aml_service.list_alerts(container.uow)) == 4


def test_an_alert_is_resolved_once_with_a_reason_and_audited(
    container: Container, worlds: tuple[World, World]
) -> None:
    aml_service.run_daily(container.uow, container.clock, RULES, on=DAY)
    (alert,) = aml_service.list_alerts(container.uow, customer_id=worlds[1].customer_id)
    with pytest.raises(ReasonRequired):
        aml_service.resolve_alert(
            container.uow, container.clock, alert_id=alert.id, actor="aml1", resolution=""
        )
    done = aml_service.resolve_alert(
        container.uow,
        container.clock,
        alert_id=alert.id,
        actor="aml1",
        resolution="salary, documented",
    )
    assert (done.status, done.resolved_by) == ("resolved", "aml1")
    with pytest.raises(AlertAlreadyResolved):
        aml_service.resolve_alert(
            container.uow, container.clock, alert_id=alert.id, actor="aml2", resolution="again"
        )
    assert len(aml_service.list_alerts(container.uow, status=AlertStatus.OPEN)) == 3
    with container.uow() as uow:
        actions = uow.session.scalars(select(AuditLine.action).where(AuditLine.subject == alert.id))
        assert list(actions) == ["aml.alert_resolved"]


def test_the_report_exports_alerts_and_totals_as_csv(
    container: Container, worlds: tuple[World, World]
) -> None:
    a, _ = worlds
    aml_service.run_daily(container.uow, container.clock, RULES, on=DAY)
    alerts = list(csv.DictReader(io.StringIO(aml_service.export_csv(container.uow, on=DAY))))
    large = next(row for row in alerts if row["rule"] == "large_value_transfer")
    assert (large["customer_id"], large["amount_cny"], large["status"]) == (
        a.customer_id,
        "500000.00",
        "open",
    )
    totals = aml_service.export_csv(container.uow, on=DAY, what="totals").splitlines()
    assert totals[0] == "business_date,customer_id,in_cny,in_count,out_cny,out_count"
    assert f"2026-03-02,{a.customer_id},500000.00,2,450000.00,1" in totals
    assert aml_service.export_csv(container.uow, on=date(2026, 1, 1)).count("\n") == 1
