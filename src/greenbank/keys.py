"""The deployment's key ring (from settings) and key rotation over every encrypted column.

Rotation adds a data-key version, then re-encrypts every token sealed under an older one, table
by table in primary-key order. Each batch is its own short transaction, so the service keeps
answering (readers never wait; writers wait at most one batch), and a stopped rotation simply
runs again: rows already at the current version are filtered out in SQL.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, String, and_, bindparam, case, func, or_, select, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import Column

from greenbank.config import Environment, Settings
from greenbank.crypto import (
    CryptoError,
    CryptoKeyStoreError,
    EnvKeyStore,
    FileKeyStore,
    KeyRing,
    init_keys,
)
from greenbank.crypto.keystore import KeyStore
from greenbank.db import Base, run_with_retry
from greenbank.errors import ConfigurationError
from greenbank.pii import EncryptedTable, encrypted_tables

Progress = Callable[[int, int], None]
MAX_PASSES = 3
# SQLite has one writer and its busy handler is not fair: a waiting transaction re-polls only
# every 100 ms or so, so back-to-back batches would starve it. PostgreSQL needs no pause.
SQLITE_PAUSE_S = 0.1


def key_directory(settings: Settings) -> Path:
    """``GREENBANK_KEYS_DIR``, or ``<var_dir>/keys``."""
    return settings.keys_dir or settings.var_dir / "keys"


def open_keyring(settings: Settings, environ: Mapping[str, str] | None = None) -> KeyRing:
    """The key ring ``settings`` point at. In development and test a missing file store is
    created on the spot; in production it is a configuration error, as is any unusable store."""
    try:
        store: KeyStore
        if settings.key_source == "env":
            source = os.environ if environ is None else environ
            # GREENBANK_KEYS_DIR is a setting, not a key, though it shares the store's prefix
            store = EnvKeyStore({k: v for k, v in source.items() if k != "GREENBANK_KEYS_DIR"})
        else:
            store = _file_store(settings)
        return KeyRing(store)
    except CryptoKeyStoreError as err:
        raise ConfigurationError(f"key store ({settings.key_source}): {err.detail}") from err


def _file_store(settings: Settings) -> FileKeyStore:
    directory = key_directory(settings)
    if directory.is_dir() and any(directory.iterdir()):
        return FileKeyStore(directory)
    if settings.environment is Environment.PRODUCTION:
        raise ConfigurationError(
            f"no keys in {directory}: run `greenbank keys init` or set GREENBANK_KEY_SOURCE=env"
        )
    try:
        return init_keys(directory)
    except CryptoKeyStoreError:  # another process initialised it a moment ago
        return FileKeyStore(directory)


def check_key_store(settings: Settings) -> tuple[bool, str]:
    """For ``greenbank doctor``: is the key store usable? Never creates keys."""
    directory = key_directory(settings)
    if settings.key_source == "file" and not (directory.is_dir() and any(directory.iterdir())):
        if settings.environment is Environment.PRODUCTION:
            return False, f"no keys in {directory} (run: greenbank keys init)"
        return True, f"no keys in {directory} yet; created on first use"
    try:
        ring = open_keyring(settings)
    except ConfigurationError as err:
        return False, err.detail
    where = directory if settings.key_source == "file" else "GREENBANK_KEYS_*"
    return True, f"{where}: data key versions 1..{ring.current_version}"


# --- status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnStatus:
    """How many tokens of one column each data-key version sealed (``other``: unreadable)."""

    table: str
    column: str
    by_version: dict[int, int]
    other: int

    @property
    def total(self) -> int:
        return sum(self.by_version.values()) + self.other


def _prefix(version: int) -> str:
    return f"v1:{version}:%"


def _as_text(column: Column[Any]) -> ColumnElement[str]:
    """The raw token, so LIKE patterns are not refused as plaintext by EncryptedString."""
    return type_coerce(column, String)


def key_status(
    engine: Engine, keyring: KeyRing, metadata: MetaData = Base.metadata
) -> list[ColumnStatus]:
    """Token counts per version for every encrypted column (one scan per table)."""
    versions = range(1, keyring.current_version + 1)
    found = []
    with engine.connect() as conn:
        for et in encrypted_tables(metadata):
            counts = [func.count(c) for c in et.columns] + [
                func.coalesce(func.sum(case((_as_text(c).like(_prefix(v)), 1), else_=0)), 0)
                for c in et.columns
                for v in versions
            ]
            row = conn.execute(select(*counts).select_from(et.table)).one()
            for i, column in enumerate(et.columns):
                start = len(et.columns) + i * len(versions)
                by_version = {v: int(row[start + j]) for j, v in enumerate(versions)}
                other = int(row[i]) - sum(by_version.values())
                found.append(ColumnStatus(et.table.name, column.name, by_version, other))
    return found


# --- rotation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationReport:
    version: int
    new_version: bool  # False: an unfinished rotation to ``version`` was resumed
    rotated: int  # tokens re-encrypted
    remaining: int  # tokens still under an older version (0 when done)
    batches: int
    seconds: float


def _stale(column: Column[Any], version: int) -> ColumnElement[bool]:
    return and_(column.is_not(None), _as_text(column).not_like(_prefix(version)))


def count_stale(engine: Engine, keyring: KeyRing, metadata: MetaData = Base.metadata) -> int:
    """Tokens not sealed under the current data-key version."""
    total = 0
    with engine.connect() as conn:
        for et in encrypted_tables(metadata):
            sums = [
                func.coalesce(func.sum(case((_stale(c, keyring.current_version), 1), else_=0)), 0)
                for c in et.columns
            ]
            total += sum(int(n) for n in conn.execute(select(*sums).select_from(et.table)).one())
    return total


def _rotate_batch(
    conn: Connection, et: EncryptedTable, keyring: KeyRing, after: Any, size: int
) -> tuple[Any, int]:
    """Re-encrypt up to ``size`` stale rows after key ``after``; returns (last key, tokens)."""
    version = keyring.current_version
    query = select(et.key, *et.columns).where(or_(*(_stale(c, version) for c in et.columns)))
    if after is not None:
        query = query.where(et.key > after)
    rows = conn.execute(query.order_by(et.key).limit(size).with_for_update()).all()
    if not rows:
        return None, 0
    updates, rotated = [], 0
    for key, *tokens in rows:
        values: dict[str, Any] = {"b_key": key}
        for column, token in zip(et.columns, tokens, strict=True):
            if token is not None and keyring.needs_rotation(token):
                where = {"table": et.table.name, "column": column.name, "record_id": str(key)}
                try:
                    plain = keyring.decrypt_field(token, **where)
                except CryptoError as err:  # a lost key or a tampered cell: stop, say which
                    raise type(err)(f"{et.table.name}.{column.name} {key}: {err.detail}") from err
                token = keyring.encrypt_field(plain, **where)
                rotated += 1
            values["b_" + column.name] = token
        updates.append(values)
    statement = (
        et.table.update()
        .where(et.key == bindparam("b_key"))
        .values({c.name: bindparam("b_" + c.name) for c in et.columns})
    )
    conn.execute(statement, updates)
    return rows[-1][0], rotated


def rotate(
    engine: Engine,
    keyring: KeyRing,
    *,
    metadata: MetaData = Base.metadata,
    batch_size: int = 1000,
    progress: Progress | None = None,
    pause: float | None = None,
) -> RotationReport:
    """Finish an unfinished rotation, or start one with a new data-key version; re-encrypt
    every stale token of every encrypted column. ``progress(done, total)`` after each batch;
    ``pause`` seconds between batches (default: :data:`SQLITE_PAUSE_S` on SQLite, else 0)."""
    if pause is None:
        pause = SQLITE_PAUSE_S if engine.dialect.name == "sqlite" else 0.0
    started = time.perf_counter()
    keyring.reload()  # versions another process may have added
    total = count_stale(engine, keyring, metadata)
    new_version = total == 0
    if new_version:
        keyring.add_version()
        total = count_stale(engine, keyring, metadata)
    done = batches = 0
    for _ in range(MAX_PASSES):  # another pass catches rows written meanwhile by stale processes
        for et in encrypted_tables(metadata):
            after: Any = None
            while True:

                def batch(after: Any = after, et: EncryptedTable = et) -> tuple[Any, int]:
                    with engine.begin() as conn:
                        return _rotate_batch(conn, et, keyring, after, batch_size)

                after, rotated = run_with_retry(batch)
                if after is None:
                    break
                done, batches = done + rotated, batches + 1
                if progress is not None:
                    progress(done, max(total, done))
                time.sleep(pause)
        remaining = count_stale(engine, keyring, metadata)
        if remaining == 0:
            break
        total += remaining
    return RotationReport(
        version=keyring.current_version,
        new_version=new_version,
        rotated=done,
        remaining=remaining,
        batches=batches,
        seconds=time.perf_counter() - started,
    )
