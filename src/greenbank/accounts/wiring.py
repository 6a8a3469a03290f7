"""Build the opening flow from a Container's settings: policy, vendors, SMS codes."""

from __future__ import annotations

from datetime import timedelta

from greenbank.accounts.models import ConsentKind
from greenbank.accounts.onboarding import Onboarding, OpeningPolicy
from greenbank.accounts.providers import OcrProvider, Providers
from greenbank.accounts.risk import VelocityLimits
from greenbank.accounts.sandbox import (
    SandboxCardCheck,
    SandboxFace,
    SandboxIdCheck,
    SandboxOcr,
    SandboxVendor,
)
from greenbank.accounts.service import NumberPolicy
from greenbank.bootstrap import Container
from greenbank.config import Environment, Settings
from greenbank.customers.cards import UnknownBinPolicy
from greenbank.customers.region import RegionPolicy
from greenbank.errors import ConfigurationError
from greenbank.identity.service import otp_service

_OCR_ENGINES: dict[str, OcrProvider] = {}


def parse_consent_versions(text: str) -> dict[ConsentKind, str]:
    """``terms=2026-01,personal_information=2026-01,sensitive_face=2026-01``; all three needed."""
    versions: dict[ConsentKind, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, version = part.partition("=")
        try:
            versions[ConsentKind(kind.strip())] = version.strip()
        except ValueError:
            raise ConfigurationError(f"unknown consent kind {kind!r}") from None
    if set(versions) != set(ConsentKind) or not all(versions.values()):
        raise ConfigurationError("GREENBANK_ACCOUNTS_CONSENT_VERSIONS needs a version per kind")
    return versions


def opening_policy(settings: Settings) -> OpeningPolicy:
    codes = {c.strip() for c in settings.region_province_codes.split(",") if c.strip()}
    return OpeningPolicy(
        numbers=NumberPolicy(
            prefix=settings.accounts_number_prefix,
            branch_code=settings.accounts_branch_code,
            max_open_per_person=settings.accounts_max_open_per_person,
        ),
        region=RegionPolicy(codes, review_min_signals=settings.accounts_region_review_min_signals),
        consent_versions=parse_consent_versions(settings.accounts_consent_versions),
        velocity=VelocityLimits(
            per_device=settings.accounts_velocity_per_device,
            per_ip=settings.accounts_velocity_per_ip,
            per_id_number=settings.accounts_velocity_per_id_number,
        ),
        min_age=settings.accounts_min_age,
        max_age=settings.accounts_max_age,
        face_threshold=settings.accounts_face_threshold,
        face_max_attempts=settings.accounts_face_max_attempts,
        card_max_attempts=settings.accounts_card_max_attempts,
        unknown_bin=UnknownBinPolicy(settings.accounts_unknown_bin),
        max_image_bytes=settings.accounts_max_image_bytes,
    )


def providers(container: Container) -> Providers:
    """The configured vendors; the sandbox is refused in production. ``accounts_kyc_provider``
    has one value today ("sandbox"): a bank's real adapters implement ``providers.py``."""
    settings = container.settings
    if settings.environment is Environment.PRODUCTION:
        raise ConfigurationError("the sandbox KYC vendors cannot be used in production")

    def vendor(name: str) -> SandboxVendor:
        return SandboxVendor(
            vendor=name,
            uow=container.uow,
            clock=container.clock,
            latency=timedelta(milliseconds=settings.accounts_vendor_latency_ms),
            timeout=timedelta(milliseconds=settings.accounts_vendor_timeout_ms),
            daily_quota=settings.accounts_sandbox_daily_quota,
        )

    ocr: OcrProvider = SandboxOcr(vendor("ocr"))
    if settings.accounts_ocr_provider == "rapidocr":
        ocr = _OCR_ENGINES.get("rapidocr") or _OCR_ENGINES.setdefault("rapidocr", _rapidocr())
    return Providers(
        ocr=ocr,
        id_check=SandboxIdCheck(vendor("id_check")),
        face=SandboxFace(vendor("face"), challenge_ttl=timedelta(minutes=3)),
        card=SandboxCardCheck(vendor("card")),
    )


def _rapidocr() -> OcrProvider:
    from greenbank.accounts.ocr import RapidOcr  # the optional extra, loaded only when chosen

    return RapidOcr()


def onboarding(container: Container) -> Onboarding:
    return Onboarding(
        uow=container.uow,
        clock=container.clock,
        keyring=lambda: container.keyring,
        providers=providers(container),
        otp=otp_service(container),
        policy=opening_policy(container.settings),
    )
