"""Settings from the environment (prefix ``GREENBANK_``) or a ``.env`` file.

There is no module-level instance: the composition root (``bootstrap``) builds one and passes it
down, so tests can run several differently configured apps in one process.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-change-me"  # noqa: S105 - a marker refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything greenbank reads from its environment. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="GREENBANK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(
        default="sqlite:///./var/greenbank.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    db_echo: bool = False
    var_dir: Path = Path("./var")
    keys_dir: Path | None = Field(
        default=None, description="File key store (KEK and wrapped data keys); default var_dir/keys"
    )
    key_source: Literal["file", "env"] = Field(
        default="file", description="Where the KEK is read from: keys_dir or GREENBANK_KEYS_*"
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: str = "INFO"
    log_json: bool = False
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    bank_name: str = "绿色示范银行"
    region_province_codes: str = Field(
        default="44", description="Comma-separated GB/T 2260 province codes the bank serves"
    )
    bus_embedded_dispatcher: bool = Field(
        default=True, description="Run the outbox dispatcher in a thread of `greenbank serve`"
    )
    bus_broker_url: str | None = Field(
        default=None, description="Forward every event to nats://host:4222 or redis://host/0"
    )
    bus_poll_interval_ms: Annotated[int, Field(ge=5, le=60_000)] = 100
    bus_max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    auth_access_token_ttl_s: Annotated[int, Field(ge=60, le=86_400)] = 900
    auth_refresh_token_ttl_s: Annotated[int, Field(ge=300, le=90 * 86_400)] = 30 * 86_400
    staff_refresh_token_ttl_s: Annotated[int, Field(ge=300, le=7 * 86_400)] = 12 * 3600
    staff_password_min_length: Annotated[int, Field(ge=8, le=64)] = 12
    staff_lockout_threshold: Annotated[int, Field(ge=1, le=100)] = 5
    staff_lockout_s: Annotated[int, Field(ge=1, le=86_400)] = 900
    otp_length: Annotated[int, Field(ge=4, le=8)] = 6
    otp_ttl_s: Annotated[int, Field(ge=30, le=3600)] = 300
    otp_max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    otp_resend_cooldown_s: Annotated[int, Field(ge=0, le=3600)] = 60
    otp_daily_cap_per_phone: Annotated[int, Field(ge=1, le=1000)] = 10
    otp_daily_cap_per_ip: Annotated[int, Field(ge=1, le=100_000)] = 50
    sms_provider: Literal["sandbox"] = Field(
        default="sandbox", description="SMS gateway; the sandbox is refused in production"
    )
    sms_sandbox_latency_ms: Annotated[int, Field(ge=0, le=10_000)] = 0
    sms_timeout_ms: Annotated[int, Field(ge=100, le=60_000)] = 3000
    accounts_max_open_per_person: Annotated[int, Field(ge=1, le=5)] = 1
    accounts_number_prefix: str = Field(
        default="6231880001", description="Class II account numbers: prefix + sequence + Luhn"
    )
    accounts_branch_code: str = Field(default="0001", max_length=12)
    accounts_min_age: Annotated[int, Field(ge=0, le=120)] = 16
    accounts_max_age: Annotated[int | None, Field(ge=0, le=150)] = None
    accounts_face_threshold: Annotated[int, Field(ge=1, le=100)] = 90
    accounts_face_max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    accounts_card_max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    accounts_unknown_bin: Literal["refuse", "review"] = "refuse"
    accounts_region_review_min_signals: Annotated[int, Field(ge=1, le=4)] = 2
    accounts_velocity_per_device: Annotated[int, Field(ge=1)] = 3
    accounts_velocity_per_ip: Annotated[int, Field(ge=1)] = 20
    accounts_velocity_per_id_number: Annotated[int, Field(ge=1)] = 3
    accounts_consent_versions: str = Field(
        default="terms=2026-01,personal_information=2026-01,sensitive_face=2026-01",
        description="Current version of each consent document (kind=version, comma-separated)",
    )
    accounts_kyc_provider: Literal["sandbox"] = Field(
        default="sandbox", description="ID check, face and card vendors; sandbox refused in prod"
    )
    accounts_ocr_provider: Literal["sandbox", "rapidocr"] = "sandbox"
    accounts_vendor_latency_ms: Annotated[int, Field(ge=0, le=10_000)] = 0
    accounts_vendor_timeout_ms: Annotated[int, Field(ge=1, le=60_000)] = 3000
    accounts_sandbox_daily_quota: Annotated[int, Field(ge=0)] = 0
    accounts_max_image_bytes: Annotated[int, Field(ge=1024, le=20_000_000)] = 5_000_000
    public_base_url: str | None = Field(
        default=None,
        description="Public address printed in receipt QR codes and links (default http://host:port)",
    )
    receipt_seal_algorithm: Literal["ecdsa-p256", "sm2-sm3"] = Field(
        default="ecdsa-p256",
        description="Seal of new receipts: ecdsa-p256 (common PDF readers) or sm2-sm3 (GM readers)",
    )
    # Closed fund loop and AML (None: the defaults documented in accounts/funds_policy.py, aml.py)
    funds_card_rail: Literal["sandbox"] = "sandbox"
    funds_rail_latency: Annotated[float | None, Field(ge=0, le=3600)] = None
    funds_withdrawal_hold_ttl: Annotated[int | None, Field(ge=60)] = None
    funds_max_single_fen: Annotated[int | None, Field(gt=0)] = None
    funds_non_bound_enabled: bool | None = None
    funds_non_bound_daily_fen: Annotated[int | None, Field(ge=0)] = None
    funds_non_bound_yearly_fen: Annotated[int | None, Field(ge=0)] = None
    aml_large_transfer_fen: Annotated[int | None, Field(gt=0)] = None
    aml_large_cash_fen: Annotated[int | None, Field(gt=0)] = None
    deposits_maturity_scheduler: bool | None = Field(
        default=None,
        description="Run the maturity job in a thread of `greenbank serve` (at start-up and daily "
        "after 00:05 Shanghai); default: on, except when GREENBANK_ENVIRONMENT=test",
    )
    http_threads: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Threads per `greenbank serve` worker process that run the API's synchronous "
        "endpoints; default: anyio's 40. Fewer (4-8) suit short database transactions under "
        "load: a thread holding a row lock waits less for the interpreter (purchases with 32 "
        "buyers, 2 workers: p99 0.7-1.3 s with 40, ~0.4 s with 4-8). Keep more when many "
        "requests wait on slow vendors (ID checks, SMS, the card rail)",
    )
    gc_freeze: bool | None = Field(
        default=None,
        description="Once started, `greenbank serve` and `greenbank worker` move every object "
        "made so far out of the garbage collector's reach (`gc.freeze()`), so full collections "
        "stop re-walking modules, caches and the app; default: on, except when "
        "GREENBANK_ENVIRONMENT=test (a test process builds many apps)",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return upper

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if (
            self.environment is Environment.PRODUCTION
            and self.secret_key.get_secret_value() == DEV_SECRET
        ):
            raise ValueError("GREENBANK_SECRET_KEY must be set in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
