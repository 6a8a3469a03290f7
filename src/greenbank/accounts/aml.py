"""Anti-money-laundering rules over fund flows: pure, so every rule has worked examples.

Large-value reporting follows PBoC 2016 No. 3: a natural person's transfers of 500,000 CNY or
more in a day, cash of 50,000 CNY or more. Same-name deposit rollovers and demand<->time
conversions are exempt; bound-card top-ups are not. Daily totals are counted per direction
(money in, money out), which is how the report's "单笔或者当日累计" is applied by banks.

The suspicious patterns are the ones named in the domain rules: money in and straight out, amounts
just under a threshold, many identities on one device. Thresholds are ``AmlRules`` fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from greenbank.clock import SHANGHAI, business_date


class FlowDirection(StrEnum):
    IN = "in"
    OUT = "out"


class FlowKind(StrEnum):
    BOUND_CARD = "bound_card"  # top-up from / withdrawal to the bound card: reportable
    NON_BOUND = "non_bound"  # another account (not possible in this product; kept for upgrades)
    CASH = "cash"  # not possible online; the rule stays configurable
    ROLLOVER = "rollover"  # same-name deposit rollover: exempt
    DEMAND_TIME = "demand_time"  # demand <-> time conversion (deposit purchase, maturity): exempt


class AlertRule(StrEnum):
    LARGE_TRANSFER = "large_value_transfer"
    LARGE_CASH = "large_value_cash"
    RAPID_IN_OUT = "rapid_in_out"
    STRUCTURING = "just_under_threshold"
    SHARED_DEVICE = "shared_device"
    REVERSAL_SHORTFALL = "reversal_shortfall"  # raised by the funds service, not by screening


@dataclass(frozen=True)
class Flow:
    """One settled movement of a customer's money."""

    customer_id: str
    direction: FlowDirection
    kind: FlowKind
    amount_fen: int
    at: datetime
    reference: str

    @property
    def business_date(self) -> date:
        return business_date(self.at)


@dataclass(frozen=True)
class AmlRules:
    large_transfer_fen: int = 50_000_000  # 500,000 CNY a day
    large_cash_fen: int = 5_000_000  # 50,000 CNY a day
    exempt_kinds: frozenset[FlowKind] = frozenset({FlowKind.ROLLOVER, FlowKind.DEMAND_TIME})
    rapid_window: timedelta = timedelta(hours=24)
    rapid_min_fen: int = 1_000_000  # only in-flows of 10,000 CNY or more are watched
    rapid_out_ratio: Decimal = Decimal("0.8")  # out >= 80 % of what came in
    near_floor_fen: int = 4_900_000  # 49,000.00 CNY ...
    near_ceiling_fen: int = 5_000_000  # ... up to, not including, 50,000.00 CNY
    near_window: timedelta = timedelta(days=7)
    near_min_count: int = 3
    device_max_identities: int = 3  # this many different customers on one device is an alert
    device_window: timedelta = timedelta(days=30)  # applications from this far back are looked at


@dataclass(frozen=True)
class DailyTotals:
    customer_id: str
    business_date: date
    in_fen: int = 0
    out_fen: int = 0
    in_count: int = 0
    out_count: int = 0


@dataclass(frozen=True)
class AlertCandidate:
    """An alert screening wants raised; ``dedupe_key`` makes re-screening a day harmless."""

    rule: AlertRule
    subject: str  # a customer id, or ``device:<id>``
    business_date: date
    amount_fen: int
    customer_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        return f"{self.rule.value}:{self.subject}:{self.business_date.isoformat()}"


def daily_totals(flows: Iterable[Flow]) -> list[DailyTotals]:
    """Per customer and business date: in/out totals and counts of every flow given."""
    sums: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for flow in flows:
        row = sums[(flow.customer_id, flow.business_date)]
        offset = 0 if flow.direction is FlowDirection.IN else 1
        row[offset] += flow.amount_fen
        row[offset + 2] += 1
    return [DailyTotals(customer, day, *values) for (customer, day), values in sorted(sums.items())]


def large_value(flows: Iterable[Flow], *, on: date, rules: AmlRules) -> list[AlertCandidate]:
    """Day totals per customer and direction at or over the reporting thresholds."""
    totals: dict[tuple[str, FlowDirection, bool], list[Flow]] = defaultdict(list)
    for flow in flows:
        if flow.business_date == on and flow.kind not in rules.exempt_kinds:
            totals[(flow.customer_id, flow.direction, flow.kind is FlowKind.CASH)].append(flow)
    found = []
    for (customer, direction, cash), day in sorted(totals.items()):
        amount = sum(f.amount_fen for f in day)
        limit = rules.large_cash_fen if cash else rules.large_transfer_fen
        if amount >= limit:
            found.append(
                AlertCandidate(
                    rule=AlertRule.LARGE_CASH if cash else AlertRule.LARGE_TRANSFER,
                    subject=f"{customer}:{direction.value}",
                    customer_id=customer,
                    business_date=on,
                    amount_fen=amount,
                    detail={
                        "direction": direction.value,
                        "threshold_fen": limit,
                        "references": [f.reference for f in day],
                    },
                )
            )
    return found


def rapid_in_out(flows: Iterable[Flow], *, on: date, rules: AmlRules) -> list[AlertCandidate]:
    """An out-flow on ``on`` taking most of a large in-flow that arrived within the window."""
    by_customer = _by_customer(flows, rules)
    found = []
    for customer, items in by_customer.items():
        ins = [f for f in items if f.direction is FlowDirection.IN]
        for out in items:
            if out.direction is not FlowDirection.OUT or out.business_date != on:
                continue
            for inflow in ins:
                quick = timedelta(0) <= out.at - inflow.at <= rules.rapid_window
                large = inflow.amount_fen >= rules.rapid_min_fen
                if quick and large and out.amount_fen >= rules.rapid_out_ratio * inflow.amount_fen:
                    found.append(
                        AlertCandidate(
                            rule=AlertRule.RAPID_IN_OUT,
                            subject=customer,
                            customer_id=customer,
                            business_date=on,
                            amount_fen=out.amount_fen,
                            detail={
                                "in_reference": inflow.reference,
                                "in_fen": inflow.amount_fen,
                                "out_reference": out.reference,
                                "minutes_between": int((out.at - inflow.at).total_seconds() // 60),
                            },
                        )
                    )
                    break
    return _first_per_key(found)


def just_under_threshold(
    flows: Iterable[Flow], *, on: date, rules: AmlRules
) -> list[AlertCandidate]:
    """Repeated amounts in [floor, ceiling) within the window that ends with the day ``on``."""
    end = datetime.combine(on + timedelta(days=1), time(), tzinfo=SHANGHAI)
    start = end - rules.near_window
    found = []
    for customer, items in _by_customer(flows, rules).items():
        near = [
            f
            for f in items
            if start <= f.at < end and rules.near_floor_fen <= f.amount_fen < rules.near_ceiling_fen
        ]
        if len(near) >= rules.near_min_count and any(f.business_date == on for f in near):
            found.append(
                AlertCandidate(
                    rule=AlertRule.STRUCTURING,
                    subject=customer,
                    customer_id=customer,
                    business_date=on,
                    amount_fen=sum(f.amount_fen for f in near),
                    detail={"count": len(near), "references": [f.reference for f in near]},
                )
            )
    return found


def shared_devices(
    devices: Mapping[str, Iterable[str]], *, on: date, rules: AmlRules
) -> list[AlertCandidate]:
    """A device used by ``device_max_identities`` or more different customers."""
    found = []
    for device, customers in sorted(devices.items()):
        distinct = sorted(set(customers))
        if len(distinct) >= rules.device_max_identities:
            found.append(
                AlertCandidate(
                    rule=AlertRule.SHARED_DEVICE,
                    subject=f"device:{device}",
                    business_date=on,
                    amount_fen=0,
                    detail={"device": device, "customer_ids": distinct},
                )
            )
    return found


def screen(
    flows: Iterable[Flow],
    *,
    on: date,
    rules: AmlRules,
    devices: Mapping[str, Iterable[str]] | None = None,
) -> list[AlertCandidate]:
    """Every rule over the flows (which should reach back ``max(window)`` before ``on``)."""
    items = list(flows)
    return [
        *large_value(items, on=on, rules=rules),
        *rapid_in_out(items, on=on, rules=rules),
        *just_under_threshold(items, on=on, rules=rules),
        *shared_devices(devices or {}, on=on, rules=rules),
    ]


def _by_customer(flows: Iterable[Flow], rules: AmlRules) -> dict[str, list[Flow]]:
    grouped: dict[str, list[Flow]] = defaultdict(list)
    for flow in sorted(flows, key=lambda f: (f.at, f.reference)):
        if flow.kind not in rules.exempt_kinds:
            grouped[flow.customer_id].append(flow)
    return dict(sorted(grouped.items()))


def _first_per_key(candidates: list[AlertCandidate]) -> list[AlertCandidate]:
    seen: dict[str, AlertCandidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.dedupe_key, candidate)
    return list(seen.values())
