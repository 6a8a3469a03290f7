"""The knobs of the closed fund loop and AML, and the card rail a process uses.

The values come from ``Settings`` fields named ``funds_*`` / ``aml_*`` when the deployment
declares them (``GREENBANK_FUNDS_NON_BOUND_ENABLED`` ...); until then the defaults below apply.
They are read in one place so a service never looks at the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any

from greenbank.accounts.aml import AmlRules, FlowKind
from greenbank.accounts.card_rail import CardRail, SandboxCardRail, sandbox_secret
from greenbank.clock import Clock
from greenbank.config import Environment, Settings
from greenbank.errors import ConfigurationError
from greenbank.receipts.issue import code_key


@dataclass(frozen=True)
class FundsPolicy:
    rail_latency: timedelta = timedelta(seconds=2)  # the sandbox rail's settlement delay
    withdrawal_hold_ttl: timedelta = timedelta(days=3)  # longer than any rail takes to answer
    max_single_fen: int = 100_000_000  # 1,000,000 CNY per top-up or withdrawal
    # 银发〔2018〕16号: a Class II account may move 10,000 CNY/day and 200,000 CNY/year to and
    # from accounts other than the bound one. This product allows none (off); kept for later.
    non_bound_enabled: bool = False
    non_bound_daily_fen: int = 1_000_000
    non_bound_yearly_fen: int = 20_000_000


def _read(settings: Settings, prefix: str, default: Any) -> dict[str, Any]:
    """``<prefix><field>`` of the settings that exist, in the field's type: durations are given
    in seconds, rates as strings or numbers."""
    found: dict[str, Any] = {}
    for item in fields(default):
        value = getattr(settings, f"{prefix}{item.name}", None)
        if value is None:
            continue
        current = getattr(default, item.name)
        if isinstance(current, timedelta) and not isinstance(value, timedelta):
            value = timedelta(seconds=value)
        elif isinstance(current, Decimal):
            value = Decimal(str(value))
        elif isinstance(current, frozenset):
            value = frozenset(FlowKind(v) for v in value)
        found[item.name] = value
    return found


def funds_policy(settings: Settings) -> FundsPolicy:
    return FundsPolicy(**_read(settings, "funds_", FundsPolicy()))


def aml_rules(settings: Settings) -> AmlRules:
    return AmlRules(**_read(settings, "aml_", AmlRules()))


def build_rail(settings: Settings, policy: FundsPolicy) -> CardRail:
    """The card rail of this deployment. Only the sandbox ships; a bank plugs in its own."""
    rail = settings.funds_card_rail
    if rail != "sandbox":
        raise ConfigurationError(f"unknown card rail {rail!r}")
    if settings.environment is Environment.PRODUCTION:
        raise ConfigurationError("the sandbox card rail is refused in production")
    return SandboxCardRail(
        secret=sandbox_secret(settings.secret_key.get_secret_value()),
        latency=policy.rail_latency,
    )


@dataclass(frozen=True)
class FundsRuntime:
    """What every fund-moving call needs besides the unit of work."""

    clock: Clock
    rail: CardRail
    policy: FundsPolicy = FundsPolicy()
    bank_name: str = "绿色示范银行"  # printed as the Class II side's bank in receipt events
    receipt_code_key: bytes | None = None  # None: no electronic receipt is issued


def runtime(settings: Settings, clock: Clock) -> FundsRuntime:
    policy = funds_policy(settings)
    return FundsRuntime(
        clock=clock,
        rail=build_rail(settings, policy),
        policy=policy,
        bank_name=settings.bank_name,
        receipt_code_key=code_key(settings.secret_key.get_secret_value()),
    )
