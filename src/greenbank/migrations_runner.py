"""Run and inspect Alembic migrations against an engine (CLI, readiness probe, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

SCRIPT_LOCATION = "greenbank:migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


@dataclass(frozen=True)
class MigrationStatus:
    current: frozenset[str]
    heads: frozenset[str]
    pending: frozenset[str]

    @property
    def at_head(self) -> bool:
        return not self.pending


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _applied(script: ScriptDirectory, current: frozenset[str]) -> set[str]:
    """Every revision implied by the recorded ones: their ancestors and their dependencies.

    Alembic records only the tips in ``alembic_version``; a revision another one ``depends_on``
    is applied but not recorded, so comparing tips with heads would misreport it as pending.
    """
    seen: set[str] = set()
    stack = list(current)
    while stack:
        rev = script.get_revision(stack.pop())
        if rev is None or rev.revision in seen:
            continue
        seen.add(rev.revision)
        stack.extend(_as_tuple(rev.down_revision))
        stack.extend(_as_tuple(rev.dependencies))
    return seen


def upgrade(engine: Engine, revision: str = "heads") -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def migration_status(engine: Engine) -> MigrationStatus:
    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        current = frozenset(MigrationContext.configure(conn).get_current_heads())
    every = {rev.revision for rev in script.walk_revisions()}
    return MigrationStatus(
        current=current,
        heads=frozenset(script.get_heads()),
        pending=frozenset(every - _applied(script, current)),
    )
