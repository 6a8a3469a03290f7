"""Per-process receipts wiring: the seal identity, trust roots, TSA, file store and code key.

Built once per container (keyed by its engine) and loaded lazily: the PKI files are read on the
first seal or verification, not at start-up. In development and test a missing PKI under
``var_dir/pki`` is created (``init_pki``, plus ``init_sm2_pki`` when the ``receipt_seal_algorithm``
setting is ``sm2-sm3``); in production it is a ``ConfigurationError``.

Bus consumers receive only a unit of work, so ``runtime_of(session)`` finds the runtime by the
session's engine. The API attaches it when the app starts; a process that never did (a
``greenbank worker``) builds it from the environment's settings, after checking they name the
same database.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography import x509
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.clock import Clock, SystemClock
from greenbank.config import Environment, Settings
from greenbank.errors import ConfigurationError
from greenbank.receipts.issue import code_key
from greenbank.receipts.pki import PkiPaths, SealIdentity, init_pki
from greenbank.receipts.sm2_pki import (
    SealAlgorithm,
    Sm2PkiPaths,
    init_sm2_pki,
    installed_trust_roots,
    load_identity,
)
from greenbank.receipts.store import FileReceiptStore, ReceiptStore
from greenbank.receipts.tsa import LocalTimestampAuthority, TimestampAuthority

VERIFY_LIMIT_PER_MINUTE = 10  # public verification attempts per client IP (all methods)
UPLOAD_LIMIT_BYTES = 2 * 1024 * 1024  # a sealed receipt is ~60 KB


def public_base_url(settings: Settings) -> str:
    """The address printed in QR codes and links of sealed documents (never a request's Host)."""
    return str(settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


@dataclass
class ReceiptsRuntime:
    bank_name: str
    pki_dir: Path
    production: bool
    verify_url: str
    store: ReceiptStore
    code_key: bytes
    clock: Clock = field(default_factory=SystemClock)
    seal_algorithm: SealAlgorithm = SealAlgorithm.ECDSA_P256
    verify_limit_per_minute: int = VERIFY_LIMIT_PER_MINUTE
    upload_limit_bytes: int = UPLOAD_LIMIT_BYTES
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> ReceiptsRuntime:
        return cls(
            bank_name=settings.bank_name,
            pki_dir=settings.var_dir / "pki",
            production=settings.environment is Environment.PRODUCTION,
            verify_url=public_base_url(settings) + "/verify",
            store=FileReceiptStore(settings.var_dir / "receipts"),
            code_key=code_key(settings.secret_key.get_secret_value()),
            clock=clock or SystemClock(),
            seal_algorithm=SealAlgorithm(settings.receipt_seal_algorithm),
        )

    def _ensure_pki(self) -> None:
        """The default hierarchy (its TSA serves both seals), and the SM2 one when it seals."""
        sm2 = self.seal_algorithm is SealAlgorithm.SM2_SM3
        with self._lock:
            files = PkiPaths.under(self.pki_dir).files()
            if sm2:
                files += Sm2PkiPaths.under(self.pki_dir).files()
            if all(p.exists() for p in files):
                return
            if self.production:
                raise ConfigurationError(
                    f"no receipt seal PKI in {self.pki_dir} ({self.seal_algorithm}): install the "
                    "bank's seal and TSA certificates there (see greenbank/receipts/README.md)"
                )
            init_pki(self.pki_dir, self.bank_name)
            if sm2:
                init_sm2_pki(self.pki_dir, self.bank_name)

    @cached_property
    def identity(self) -> SealIdentity:
        self._ensure_pki()
        return load_identity(self.pki_dir, self.seal_algorithm)

    @cached_property
    def trust_roots(self) -> tuple[x509.Certificate, ...]:
        """Every installed root, whichever seals now: older receipts keep verifying."""
        self._ensure_pki()
        return tuple(installed_trust_roots(self.pki_dir))

    @cached_property
    def tsa(self) -> TimestampAuthority:
        self._ensure_pki()
        return LocalTimestampAuthority.from_directory(self.pki_dir)


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, ReceiptsRuntime] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def runtime(container: Container) -> ReceiptsRuntime:
    """The runtime of this container (created on first use, then shared by every thread)."""
    with _GUARD:
        found = _BY_ENGINE.get(container.engine)
        if found is None:
            found = _BY_ENGINE[container.engine] = ReceiptsRuntime.from_settings(
                container.settings, container.clock
            )
        return found


def runtime_of(session: Session) -> ReceiptsRuntime:
    """The runtime for a consumer's session: its container's, else one from the environment."""
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        engine = engine.engine
    with _GUARD:
        found = _BY_ENGINE.get(engine)
        if found is not None:
            return found
        settings = Settings()
        wanted = make_url(settings.database_url)
        if (wanted.host, wanted.database) != (engine.url.host, engine.url.database):
            raise ConfigurationError(
                "the receipts runtime is not attached to this database: call "
                "greenbank.receipts.runtime.runtime(container) when the process starts"
            )
        found = _BY_ENGINE[engine] = ReceiptsRuntime.from_settings(settings)
        return found
