"""The rows ingestion writes: events, ledger entries, rejections (plain dicts for executemany).

Each credit row records what makes the gram traceable: the event, the methodology row and
version, the parameter values the formula read, and the arithmetic written out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from greenbank.carbon.domain import MG_PER_G
from greenbank.carbon.expr import plain
from greenbank.carbon.models import ACCEPTED, CREDIT, REJECTED
from greenbank.carbon.pipeline import MAX_ID_CHARS, Accepted, EventKey, RawEvent, Reason, Rejected
from greenbank.ids import new_id

# json.dumps(..., sort_keys=True, separators=(",", ":")), with the encoder built once.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def fingerprint(event: RawEvent) -> str:
    """What must match for a resent key to count as the same event."""
    body = _CANONICAL_JSON.encode(
        [event.customer_ref, event.scenario, event.occurred_at.isoformat(), json_inputs(event)]
    )
    return hashlib.sha256(body.encode()).hexdigest()


def json_inputs(event: RawEvent) -> dict[str, Any]:
    inputs = event.inputs if isinstance(event.inputs, Mapping) else {}
    return {
        str(k): v if isinstance(v, str | int | bool | None) else str(v) for k, v in inputs.items()
    }


def event_key(event: object) -> EventKey | None:
    """The event's key when it is well-formed enough to have one (else ``validate`` refuses it)."""
    if not isinstance(event, RawEvent):
        return None
    fields = (event.source, event.source_event_id, event.customer_ref, event.scenario)
    if not all(isinstance(f, str) and 0 < len(f) <= MAX_ID_CHARS for f in fields):
        return None
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.utcoffset() is None:
        return None
    return event.key


def event_row(
    event_id: str,
    event: RawEvent,
    now: datetime,
    accepted: Accepted | None,
    rejected: Rejected | None,
) -> dict[str, Any]:
    inputs = (
        {k: v if isinstance(v, str) else plain(v) for k, v in accepted.computation.inputs.items()}
        if accepted is not None
        else json_inputs(event)
    )
    return {
        "id": event_id,
        "source": event.source,
        "source_event_id": event.source_event_id,
        "customer_id": event.customer_ref,
        "scenario": event.scenario,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at or now,
        "status": ACCEPTED if accepted is not None else REJECTED,
        "reason": rejected.reason.value if rejected is not None else None,
        "detail": rejected.detail[:500] if rejected is not None else None,
        "inputs": inputs,
        "fingerprint": fingerprint(event),
        "credited_mg": accepted.credited_mg if accepted is not None else 0,
    }


def entry_row(
    entry_id: str, event_id: str, methodology_id: str, a: Accepted, points: int, now: datetime
) -> dict[str, Any]:
    computation = a.computation
    explanation = computation.explanation
    if a.capped:
        explanation += f"; credited {plain(_grams(a.credited_mg))} g (daily cap reached)"
    return {
        "id": entry_id,
        "customer_id": a.event.customer_ref,
        "scenario": a.event.scenario,
        "kind": CREDIT,
        "event_id": event_id,
        "methodology_id": methodology_id,
        "methodology_version": computation.methodology_version,
        "co2e_mg": a.credited_mg,
        "computed_mg": computation.co2e_mg,
        "capped": a.capped,
        "provisional": computation.provisional,
        "parameters": {p.name: plain(p.value) for p in computation.parameters},
        "explanation": explanation[:1000],
        "business_date": a.business_date,
        "points": points,
        "created_at": now,
        "run_id": None,
    }


def _grams(mg: int) -> Decimal:
    return Decimal(mg) / MG_PER_G


def rejection_row(event: object, reason: Reason, detail: str, now: datetime) -> dict[str, Any]:
    fields = {
        name: value if isinstance(value, str) and len(value) <= MAX_ID_CHARS else None
        for name in ("source", "source_event_id", "customer_ref", "scenario")
        for value in [getattr(event, name, None)]
    }
    payload: dict[str, Any] = {"type": type(event).__name__}
    if isinstance(event, RawEvent):
        payload["occurred_at"] = str(event.occurred_at)
        payload["inputs"] = json_inputs(event) if isinstance(event.inputs, Mapping) else None
    return {
        "id": new_id(),
        "received_at": now,
        "source": fields["source"],
        "source_event_id": fields["source_event_id"],
        "customer_id": fields["customer_ref"],
        "scenario": fields["scenario"],
        "reason": reason.value,
        "detail": detail[:500],
        "payload": payload,
    }
