"""What a customer sees: account, totals, history, the explanation of a credit, rank, statement.

Totals come from the cap counters (per scenario and business day / month) and the account row
(lifetime, including adjustments); history and explanations read the append-only ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.carbon.catalog import parsed
from greenbank.carbon.consent import account_of
from greenbank.carbon.domain import MG_PER_G
from greenbank.carbon.errors import EntryNotFound, RankNotEnabled
from greenbank.carbon.expr import plain
from greenbank.carbon.methodology import Parameter, Status
from greenbank.carbon.models import (
    CarbonAccount,
    Counter,
    Entry,
    EventRow,
    MethodologyRow,
    Scenario,
)
from greenbank.carbon.points import TREE_FACTOR, LevelStatus, level_for, trees_equivalent
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory


@dataclass(frozen=True)
class ScenarioTotal:
    scenario: str
    name: str
    today_mg: int
    month_mg: int
    lifetime_mg: int
    events: int


@dataclass(frozen=True)
class Summary:
    customer_id: str
    opened_at: datetime
    terms_version: str
    today_mg: int
    month_mg: int
    lifetime_mg: int
    points_balance: int
    points_earned: int
    level: LevelStatus
    trees: Decimal
    rank_opt_in: bool
    public_id: str
    scenarios: list[ScenarioTotal]


def summary(uow_factory: UowFactory, clock: Clock, *, customer_id: str) -> Summary:
    with uow_factory() as uow:
        return summary_in(uow.session, clock, customer_id)


def summary_in(session: Session, clock: Clock, customer_id: str) -> Summary:
    account = account_of(session, customer_id)
    today = business_date(clock.now())
    periods = {f"day:{today.isoformat()}": 0, f"month:{today:%Y-%m}": 1, "lifetime": 2}
    totals: dict[str, list[int]] = {}
    rows = session.execute(
        select(Counter.scenario, Counter.period, Counter.events, Counter.co2e_mg).where(
            Counter.customer_id == customer_id, Counter.period.in_(periods)
        )
    )
    for scenario, period, events, mg in rows:
        slot = totals.setdefault(scenario, [0, 0, 0, 0])
        slot[periods[period]] = mg
        if period == "lifetime":
            slot[3] = events
    names = {code: name for code, name in session.execute(select(Scenario.code, Scenario.name))}
    scenarios = sorted(
        (ScenarioTotal(code, names.get(code, code), *values) for code, values in totals.items()),
        key=lambda t: -t.lifetime_mg,
    )
    return Summary(
        customer_id=customer_id,
        opened_at=account.consented_at,
        terms_version=account.terms_version,
        today_mg=sum(t.today_mg for t in scenarios),
        month_mg=sum(t.month_mg for t in scenarios),
        lifetime_mg=account.lifetime_mg,
        points_balance=account.points_balance,
        points_earned=account.points_earned,
        level=level_for(max(0, account.lifetime_mg)),
        trees=trees_equivalent(max(0, account.lifetime_mg)),
        rank_opt_in=account.rank_opt_in,
        public_id=account.public_id,
        scenarios=scenarios,
    )


@dataclass(frozen=True)
class HistoryItem:
    id: str
    kind: str
    scenario: str
    co2e_mg: int
    points: int
    provisional: bool
    capped: bool
    methodology_version: int
    business_date: date
    explanation: str
    created_at: datetime


def history(
    uow_factory: UowFactory, *, customer_id: str, limit: int = 20, before: str | None = None
) -> tuple[list[HistoryItem], str | None]:
    """Newest first; ``before`` is the last id of the previous page (ids are time-ordered)."""
    with uow_factory() as uow:
        account_of(uow.session, customer_id)
        query = select(Entry).where(Entry.customer_id == customer_id)
        if before is not None:
            query = query.where(Entry.id < before)
        rows = list(uow.session.scalars(query.order_by(Entry.id.desc()).limit(limit + 1)))
        items = [_item(row) for row in rows[:limit]]
        return items, items[-1].id if len(rows) > limit else None


def _item(row: Entry) -> HistoryItem:
    return HistoryItem(
        row.id,
        row.kind,
        row.scenario,
        row.co2e_mg,
        row.points,
        row.provisional,
        row.capped,
        row.methodology_version,
        row.business_date,
        row.explanation,
        row.created_at,
    )


@dataclass(frozen=True)
class Explanation:
    entry: HistoryItem
    scenario_name: str
    source: str
    source_event_id: str
    occurred_at: datetime
    inputs: dict[str, object]
    methodology_id: str
    methodology_version: int
    baseline: str
    formula: str
    published_formula: str
    standard: str
    parameters: list[Parameter]  # the ones this credit used, with unit, status and source
    provisional: bool
    note: str  # the answer to "why did I get 46.7 g?" in one sentence
    related: list[HistoryItem]  # every entry of the same event (the credit and its adjustments)


def explain(uow_factory: UowFactory, *, customer_id: str, entry_id: str) -> Explanation:
    with uow_factory() as uow:
        session = uow.session
        entry = session.get(Entry, entry_id)
        if entry is None or entry.customer_id != customer_id:
            raise EntryNotFound()
        event = session.get(EventRow, entry.event_id)
        row = session.get(MethodologyRow, entry.methodology_id)
        assert event is not None and row is not None
        methodology = parsed(row.id, row.definition)
        used = [p for p in methodology.parameters if p.name in entry.parameters]
        provisional = [p.name for p in used if p.status is Status.PROVISIONAL]
        grams = plain(Decimal(entry.co2e_mg) / MG_PER_G)
        note = (
            f"{grams} g from the {methodology.name} methodology "
            f"({methodology.scenario} v{methodology.version}): {entry.explanation}."
        )
        if provisional:
            note += f" Provisional factor(s): {', '.join(provisional)} (no published value yet)."
        related = session.scalars(
            select(Entry).where(Entry.event_id == entry.event_id).order_by(Entry.id)
        )
        return Explanation(
            entry=_item(entry),
            scenario_name=methodology.name,
            source=event.source,
            source_event_id=event.source_event_id,
            occurred_at=event.occurred_at,
            inputs=dict(event.inputs),
            methodology_id=row.id,
            methodology_version=methodology.version,
            baseline=methodology.baseline,
            formula=methodology.formula.source,
            published_formula=methodology.published_formula,
            standard=methodology.standard,
            parameters=used,
            provisional=bool(provisional),
            note=note,
            related=[_item(r) for r in related],
        )


@dataclass(frozen=True)
class Rank:
    percentile: Decimal  # share of account holders with a smaller lifetime reduction, in %
    accounts: int


def rank(uow_factory: UowFactory, *, customer_id: str) -> Rank:
    """Only for customers who turned the rank setting on."""
    with uow_factory() as uow:
        session = uow.session
        account = account_of(session, customer_id)
        if not account.rank_opt_in:
            raise RankNotEnabled()
        total = session.scalar(select(func.count()).select_from(CarbonAccount)) or 0
        below = session.scalar(
            select(func.count())
            .select_from(CarbonAccount)
            .where(CarbonAccount.lifetime_mg < account.lifetime_mg)
        )
        share = (
            Decimal(100 * int(below or 0)) / max(1, int(total) - 1) if total > 1 else Decimal(100)
        )
        return Rank(min(Decimal(100), share).quantize(Decimal("0.1")), int(total))


@dataclass(frozen=True)
class StatementLine:
    scenario: str
    name: str
    entries: int
    co2e_mg: int
    points: int
    provisional_mg: int


@dataclass(frozen=True)
class Statement:
    customer_id: str
    month: str  # YYYY-MM
    lines: list[StatementLine]
    total_mg: int
    points: int
    provisional_mg: int
    trees: Decimal
    tree_factor_source: str
    level_at_issue: LevelStatus


def monthly_statement(
    uow_factory: UowFactory, *, customer_id: str, year: int, month: int
) -> Statement:
    """The low-carbon statement of one calendar month (by the behaviour's business date)."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    with uow_factory() as uow:
        session = uow.session
        account = account_of(session, customer_id)
        rows = session.execute(
            select(
                Entry.scenario,
                func.count(),
                func.sum(Entry.co2e_mg),
                func.sum(Entry.points),
                func.sum(Entry.co2e_mg).filter(Entry.provisional.is_(True)),
            )
            .where(
                Entry.customer_id == customer_id,
                Entry.business_date >= first,
                Entry.business_date < following,
            )
            .group_by(Entry.scenario)
        ).all()
        names = {code: name for code, name in session.execute(select(Scenario.code, Scenario.name))}
        lines = [
            StatementLine(s, names.get(s, s), int(n), int(mg or 0), int(p or 0), int(pm or 0))
            for s, n, mg, p, pm in sorted(rows, key=lambda r: -(r[2] or 0))
        ]
        total = sum(line.co2e_mg for line in lines)
        return Statement(
            customer_id=customer_id,
            month=f"{first:%Y-%m}",
            lines=lines,
            total_mg=total,
            points=sum(line.points for line in lines),
            provisional_mg=sum(line.provisional_mg for line in lines),
            trees=trees_equivalent(max(0, total)),
            tree_factor_source=TREE_FACTOR.source,
            level_at_issue=level_for(max(0, account.lifetime_mg)),
        )
