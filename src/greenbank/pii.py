"""Personal data at rest: the SQLAlchemy side of ``greenbank.crypto`` envelope encryption.

A model declares a column ``EncryptedString`` and from then on reads and writes plaintext; the
database only ever sees ``v1:<version>:<base64>`` tokens. The AAD of a token binds it to the
table, the column and the row's primary key, which a type's bind hook cannot know, so the work is
done by mapper events that ``mapper_configured`` attaches to every class with such a column:

* ``before_insert`` / ``before_update`` swap the changed plaintexts for tokens (and fill the
  ``<column>_bidx`` blind-index column when the type names a kind); ``after_*`` swap them back.
* ``load`` / ``refresh`` open the tokens of freshly loaded rows.

The key ring comes from ``session.info["keyring"]`` (a :class:`KeyRing` or a zero-argument
callable returning one; the Container's session factory sets it). Only the ORM unit of work
encrypts: Core or bulk statements must carry tokens, and the type refuses anything else, so a
plaintext can never reach an encrypted column by accident. See docs/pii.md.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import MetaData, String, Table, event, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import InstanceState, Mapper, QueryableAttribute, Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.schema import CallableColumnDefault, Column
from sqlalchemy.types import TypeDecorator

from greenbank.crypto import BlindIndexKind, KeyRing
from greenbank.errors import ConfigurationError, GreenbankError

KEYRING_INFO = "keyring"
INDEX_SUFFIX = "_bidx"
INDEX_LENGTH = 64  # hex digits of an HMAC-SM3
_PENDING = "greenbank.pii.pending"
_TOKEN = re.compile(r"v1:[1-9][0-9]{0,8}:[A-Za-z0-9+/]+={0,2}")

KeyRingRef = KeyRing | Callable[[], KeyRing]


class PlaintextRefused(GreenbankError):
    """Something other than a token was bound to an encrypted column (a Core or bulk write
    that bypassed the ORM, or a comparison against plaintext instead of the blind index)."""

    code = "pii_plaintext_refused"
    status = 500
    title = "Plaintext personal data was about to be written or compared"


class PiiMisconfigured(ConfigurationError):
    """A model or session is not set up for encrypted columns."""

    code = "pii_misconfigured"


class EncryptedString(TypeDecorator[str]):
    """A column holding an SM4-GCM token; ``blind_index`` names the kind of the sibling
    ``<column>_bidx`` column (``String(64)``) kept in step for exact-match look-ups."""

    impl = String
    cache_ok = True

    def __init__(self, blind_index: BlindIndexKind | None = None) -> None:
        super().__init__()
        self.blind_index = blind_index

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and not is_token(value):
            raise PlaintextRefused(
                "encrypted columns take tokens only: write through the ORM, look up by blind index"
            )
        return value


def is_token(value: object) -> bool:
    """True if ``value`` has the shape of a field token (says nothing about its MAC)."""
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


class KeyRingSource:
    """Opens a key ring on first use, once, for every thread (the Container holds one)."""

    def __init__(self, opener: Callable[[], KeyRing]) -> None:
        self._opener = opener
        self._ring: KeyRing | None = None
        self._lock = threading.Lock()

    def __call__(self) -> KeyRing:
        if self._ring is None:
            with self._lock:
                if self._ring is None:
                    self._ring = self._opener()
        return self._ring


def session_keyring(session: Session) -> KeyRing:
    """The key ring a session encrypts with (``session.info["keyring"]``)."""
    ref: KeyRingRef | None = session.info.get(KEYRING_INFO)
    if ref is None:
        raise PiiMisconfigured(f'this session has no key ring: set session.info["{KEYRING_INFO}"]')
    return ref if isinstance(ref, KeyRing) else ref()


# --- the registry: every encrypted column, built from the types in the metadata -------------


@dataclass(frozen=True)
class EncryptedTable:
    """A table with encrypted columns; ``key`` is its single-column primary key (the AAD's
    record id)."""

    table: Table
    key: Column[Any]
    columns: tuple[Column[Any], ...]


def encrypted_tables(metadata: MetaData) -> list[EncryptedTable]:
    """Every table of ``metadata`` with an ``EncryptedString`` column, in name order."""
    found = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        columns = tuple(c for c in table.columns if isinstance(c.type, EncryptedString))
        if columns:
            found.append(EncryptedTable(table, _single_key(table), columns))
    return found


def seal_rows(
    keyring: KeyRing, table: Table, rows: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows for a bulk Core insert (data migrations, imports): what the ORM events do to one
    object, done to many plain dicts. Each row must carry its primary key."""
    key = _single_key(table)
    encrypted = [(c.name, c.type) for c in table.columns if isinstance(c.type, EncryptedString)]
    sealed = []
    for row in rows:
        out = dict(row)
        if out.get(key.name) is None:
            raise PiiMisconfigured(f"{table.name}: every row needs its {key.name} (the AAD)")
        for name, type_ in encrypted:
            plain = out.get(name)
            if plain is None:
                continue
            out[name] = keyring.encrypt_field(
                plain, table=table.name, column=name, record_id=str(out[key.name])
            )
            kind = type_.blind_index
            if kind is not None:
                out[name + INDEX_SUFFIX] = keyring.blind_index(plain, kind=kind)
        sealed.append(out)
    return sealed


def _single_key(table: Table) -> Column[Any]:
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        raise PiiMisconfigured(f"{table.name}: encrypted columns need a one-column primary key")
    return keys[0]


def matches(
    attribute: QueryableAttribute[Any], value: str, keyring: KeyRing
) -> ColumnElement[bool]:
    """``Customer.id_number_bidx == blind_index(value)``, derived from ``Customer.id_number``."""
    column = getattr(attribute, "expression", None)
    kind = getattr(getattr(column, "type", None), "blind_index", None)
    if kind is None:
        raise PiiMisconfigured(f"{attribute} is not an encrypted column with a blind index")
    index: QueryableAttribute[Any] = getattr(attribute.class_, attribute.key + INDEX_SUFFIX)
    return index == keyring.blind_index(value, kind=kind)


# --- the ORM events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """An encrypted column, mapped under its own name (so AAD and attribute agree)."""

    name: str
    kind: BlindIndexKind | None

    @property
    def index(self) -> str | None:
        return None if self.kind is None else self.name + INDEX_SUFFIX


@dataclass(frozen=True)
class _Spec:
    """What the events of one mapped class need: where its tokens live and how to seal them."""

    table: str
    id_attr: str
    id_default: Callable[[], Any] | None
    fields: tuple[_Field, ...]

    def record_id(self, state: InstanceState[Any]) -> str:
        value = state.dict.get(self.id_attr)
        if value is None and state.identity:
            value = state.identity[0]
        if value is None:
            raise PiiMisconfigured(f"{self.table}: the primary key must be set before a flush")
        return str(value)

    def seal(self, target: Any, *, inserting: bool) -> None:
        state: InstanceState[Any] = inspect(target)
        if inserting and state.dict.get(self.id_attr) is None and self.id_default is not None:
            setattr(target, self.id_attr, self.id_default())
        changed = {
            f: state.dict.get(f.name)
            for f in self.fields
            if (f.name in state.dict if inserting else state.attrs[f.name].history.added)
        }
        if not changed:
            return
        session = object_session(target)
        assert session is not None  # a flush only sees objects of its session
        ring, record_id = session_keyring(session), self.record_id(state)
        for f, plain in changed.items():
            if plain is None:
                token = index = None
            else:
                token = ring.encrypt_field(
                    plain, table=self.table, column=f.name, record_id=record_id
                )
                index = ring.blind_index(plain, kind=f.kind) if f.kind else None
            setattr(target, f.name, token)
            if f.index:
                setattr(target, f.index, index)
        session.info.setdefault(_PENDING, {})[state] = {f.name: p for f, p in changed.items()}

    def open(self, session: Session, state: InstanceState[Any], attrs: Any) -> None:
        ring: KeyRing | None = None
        for f in self.fields:
            token = state.dict.get(f.name)
            if token is None or (attrs is not None and f.name not in attrs):
                continue
            ring = ring or session_keyring(session)
            plain = ring.decrypt_field(
                token, table=self.table, column=f.name, record_id=self.record_id(state)
            )
            set_committed_value(state.obj(), f.name, plain)


def _restore(session: Session | None, state: InstanceState[Any]) -> None:
    """Put back the plaintexts ``seal`` swapped out, without marking them changed."""
    plains = session.info.get(_PENDING, {}).pop(state, None) if session is not None else None
    for attr, plain in (plains or {}).items():
        set_committed_value(state.obj(), attr, plain)


@event.listens_for(Session, "after_soft_rollback")
def _restore_after_failed_flush(session: Session, _transaction: Any) -> None:
    """A failed flush leaves new objects holding tokens: give them their plaintext back.
    Persistent objects were expired by the rollback and will load (and decrypt) again."""
    for state in list(session.info.get(_PENDING, {})):
        if state.persistent:
            session.info[_PENDING].pop(state)
        else:
            _restore(session, state)


def _spec_of(mapper: Mapper[Any]) -> _Spec | None:
    fields = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if isinstance(column.type, EncryptedString):
            where = f"{mapper.class_.__name__}.{prop.key}"
            field = _Field(column.name, column.type.blind_index)
            if prop.key != column.name:
                raise PiiMisconfigured(f"{where}: map an encrypted column under its own name")
            index = mapper.column_attrs.get(field.index) if field.index else None
            if field.index and (index is None or index.columns[0].name != field.index):
                raise PiiMisconfigured(f"{where} has a blind index but no {field.index} column")
            fields.append(field)
    if not fields:
        return None
    key = _single_key(mapper.local_table)  # type: ignore[arg-type]
    default = key.default if isinstance(key.default, CallableColumnDefault) else None
    return _Spec(
        table=mapper.local_table.name,  # type: ignore[attr-defined]
        id_attr=mapper.get_property_by_column(key).key,
        # SQLAlchemy wraps a zero-argument default (new_id) so it ignores its context argument
        id_default=partial(cast(Any, default.arg), None) if default is not None else None,
        fields=tuple(fields),
    )


@event.listens_for(Mapper, "mapper_configured")
def _instrument(mapper: Mapper[Any], class_: type[Any]) -> None:
    spec = _spec_of(mapper)
    if spec is None:
        return

    def before_insert(_m: Mapper[Any], _c: Connection, target: Any) -> None:
        spec.seal(target, inserting=True)

    def before_update(_m: Mapper[Any], _c: Connection, target: Any) -> None:
        spec.seal(target, inserting=False)

    def after_write(_m: Mapper[Any], _c: Connection, target: Any) -> None:
        _restore(object_session(target), inspect(target))

    def on_load(target: Any, context: Any) -> None:
        spec.open(context.session, inspect(target), None)

    def on_refresh(target: Any, context: Any, attrs: Any) -> None:
        spec.open(context.session, inspect(target), attrs)

    event.listen(mapper, "before_insert", before_insert)
    event.listen(mapper, "before_update", before_update)
    event.listen(mapper, "after_insert", after_write)
    event.listen(mapper, "after_update", after_write)
    event.listen(mapper, "load", on_load)
    event.listen(mapper, "refresh", on_refresh)


__all__ = [
    "INDEX_LENGTH",
    "KEYRING_INFO",
    "EncryptedString",
    "EncryptedTable",
    "KeyRingSource",
    "PiiMisconfigured",
    "PlaintextRefused",
    "encrypted_tables",
    "is_token",
    "matches",
    "seal_rows",
    "session_keyring",
]
