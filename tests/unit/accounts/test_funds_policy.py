"""Reading the fund-loop and AML knobs from Settings, and choosing the card rail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from greenbank.accounts.aml import AmlRules, FlowKind
from greenbank.accounts.card_rail import SandboxCardRail
from greenbank.accounts.funds_policy import FundsPolicy, aml_rules, build_rail, funds_policy
from greenbank.config import Environment, Settings
from greenbank.errors import ConfigurationError


class Declared(Settings):
    """A deployment whose Settings declare some of the knobs (as the project's will)."""

    funds_non_bound_enabled: bool = True
    funds_rail_latency: float = 0.5
    funds_withdrawal_hold_ttl: int = 3600
    aml_rapid_out_ratio: str = "0.9"
    aml_near_window: int = 86_400
    aml_exempt_kinds: tuple[str, ...] = ("rollover",)


def _settings(cls: type[Settings] = Settings, **kw: object) -> Settings:
    return cls(_env_file=None, **kw)  # type: ignore[call-arg]


def test_defaults_apply_until_the_settings_declare_the_knobs() -> None:
    assert funds_policy(_settings()) == FundsPolicy()
    assert aml_rules(_settings()) == AmlRules()


def test_declared_knobs_are_read_in_their_types() -> None:
    settings = _settings(Declared)
    policy = funds_policy(settings)
    assert policy.non_bound_enabled is True
    assert policy.rail_latency == timedelta(seconds=0.5)
    assert policy.withdrawal_hold_ttl == timedelta(hours=1)
    assert policy.non_bound_daily_fen == 1_000_000  # not declared: the default
    rules = aml_rules(settings)
    assert rules.rapid_out_ratio == Decimal("0.9")
    assert rules.near_window == timedelta(days=1)
    assert rules.exempt_kinds == frozenset({FlowKind.ROLLOVER})


def test_the_sandbox_rail_is_built_outside_production_only() -> None:
    rail = build_rail(_settings(), FundsPolicy(rail_latency=timedelta(seconds=7)))
    assert isinstance(rail, SandboxCardRail) and rail.latency == timedelta(seconds=7)
    production = _settings(environment=Environment.PRODUCTION, secret_key=SecretStr("s" * 32))
    with pytest.raises(ConfigurationError, match="production"):
        build_rail(production, FundsPolicy())
