"""Methodologies as stored: JSON definitions in, parsed ``Methodology`` objects out.

A published row is never edited, so its parsed form is cached per process by row id; the hot
path only asks the database which ids are published (one small query per batch).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from greenbank.carbon.loader import parse_methodology
from greenbank.carbon.methodology import Methodology
from greenbank.carbon.models import PUBLISHED, MethodologyRow, Scenario
from greenbank.ids import new_id

# nev_trip has no cap in the source data: it is loaded but stays disabled until one is set.
DISABLED_AT_INSTALL = frozenset({"nev_trip"})

_PARSED: dict[str, Methodology] = {}
_LOCK = threading.Lock()


def json_safe(value: Any) -> Any:
    """A YAML/JSON definition with dates as ISO text and floats as their shortest text, so the
    stored form parses back to the same Decimals."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def parsed(row_id: str, definition: Mapping[str, Any]) -> Methodology:
    """The parsed methodology of a stored row (cached: stored rows are immutable once published)."""
    found = _PARSED.get(row_id)
    if found is None:
        found = parse_methodology(definition)
        with _LOCK:
            _PARSED[row_id] = found
    return found


@dataclass(frozen=True)
class Catalog:
    """The published methodologies of the enabled scenarios, and the row id of each version."""

    methodologies: tuple[Methodology, ...]
    row_ids: Mapping[tuple[str, int], str]


def load_catalog(session: Session | Connection) -> Catalog:
    query = (
        select(MethodologyRow.id, MethodologyRow.scenario, MethodologyRow.version)
        .join(Scenario, Scenario.code == MethodologyRow.scenario)
        .where(MethodologyRow.status == PUBLISHED, Scenario.enabled.is_(True))
    )
    rows = session.execute(query).all()
    missing = [row.id for row in rows if row.id not in _PARSED]
    if missing:
        definitions = session.execute(
            select(MethodologyRow.id, MethodologyRow.definition).where(
                MethodologyRow.id.in_(missing)
            )
        ).all()
        for row_id, definition in definitions:
            parsed(row_id, definition)
    return Catalog(
        methodologies=tuple(_PARSED[row.id] for row in rows),
        row_ids={(row.scenario, row.version): row.id for row in rows},
    )


def version_1_entries() -> list[dict[str, Any]]:
    """The entries of the packaged version-1 file, JSON-safe."""
    text = (
        resources.files("greenbank.carbon")
        .joinpath("data/methodologies_v1.yaml")
        .read_text(encoding="utf-8")
    )
    document = yaml.safe_load(text)
    return [json_safe(entry) for entry in document["methodologies"]]


def install_v1(bind: Session | Connection, *, now: datetime, actor: str) -> list[str]:
    """Insert the version-1 scenarios and methodologies that are missing; returns what it added.

    Used by migration 0007 and the demo seed, so running it again changes nothing.
    """
    scenarios = set(bind.scalars(select(Scenario.code)).all())
    versions = {
        (s, v) for s, v in bind.execute(select(MethodologyRow.scenario, MethodologyRow.version))
    }
    added = []
    for entry in version_1_entries():
        methodology = parse_methodology(entry)  # refuses a broken file before inserting anything
        if methodology.scenario not in scenarios:
            bind.execute(
                insert(Scenario).values(
                    code=methodology.scenario,
                    name=methodology.name,
                    enabled=methodology.scenario not in DISABLED_AT_INSTALL,
                    created_at=now,
                )
            )
            scenarios.add(methodology.scenario)
        if methodology.key in versions:
            continue
        bind.execute(
            insert(MethodologyRow).values(
                id=new_id(),
                scenario=methodology.scenario,
                version=methodology.version,
                name=methodology.name,
                status=PUBLISHED,
                effective_from=methodology.effective_from,
                definition=entry,
                problems=[],
                created_by=actor,
                created_at=now,
                submitted_by=actor,
                submitted_at=now,
                approved_by=actor,
                approved_at=now,
            )
        )
        added.append(f"carbon methodology {methodology.scenario} v{methodology.version}")
    return added
