"""Footprint calculator results, saved per customer so they can follow their footprint over time.

The stored result is the whole answer as shown (lines with their factors and sources, the
comparison, the suggestions), so an old result reads the same after the factors are updated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.db import UowFactory
from greenbank.ids import new_id
from greenbank.rewards.calculator import (
    MG_PER_KG,
    Factor,
    Footprint,
    FootprintInput,
    calculate,
)
from greenbank.rewards.common import command, read
from greenbank.rewards.models import FootprintRow
from greenbank.rewards.schemas import FootprintIn, FootprintOut


def _kg(mg: int) -> str:
    return f"{(Decimal(mg) / MG_PER_KG).quantize(Decimal('0.01'))}"


def _factor(f: Factor) -> dict[str, Any]:
    return {
        "key": f.key,
        "value": str(f.value),
        "unit": f.unit,
        "status": f.status,
        "source": f.source,
    }


def as_json(result: Footprint) -> dict[str, Any]:
    return {
        "factors_version": result.version,
        "total_kg_per_year": _kg(result.total_mg_per_year),
        "lines": [
            {
                "category": line.category,
                "quantity_per_year": str(line.quantity_per_year),
                "unit": line.unit,
                "kg_per_year": _kg(line.co2e_mg_per_year),
                "arithmetic": line.arithmetic,
                "provisional": line.provisional,
                "factors": [_factor(f) for f in line.factors],
            }
            for line in result.lines
        ],
        "national_average": _factor(result.national_average),
        "percent_of_national_average": str(result.percent_of_national_average),
        "suggestions": [
            {
                "code": s.code,
                "text": s.text,
                "saving_kg_per_year": _kg(s.saving_mg_per_year),
                "carbon_account_scenarios": list(s.scenarios),
            }
            for s in result.suggestions
        ],
    }


def _out(row: FootprintRow) -> FootprintOut:
    return FootprintOut(id=row.id, created_at=row.created_at, **row.result)


def calculate_and_save(
    *, uow: UowFactory, clock: Clock, customer_id: str, spec: FootprintIn
) -> FootprintOut:
    result = calculate(FootprintInput(**spec.model_dump()))

    def work(session: Session) -> FootprintOut:
        row = FootprintRow(
            id=new_id(),
            customer_id=customer_id,
            factors_version=result.version,
            inputs=spec.model_dump(mode="json"),
            result=as_json(result),
            total_mg=result.total_mg_per_year,
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        return _out(row)

    return command(uow, clock, work, actor=f"customer:{customer_id}", action="rewards.footprint")


def history(*, uow: UowFactory, customer_id: str, limit: int = 50) -> list[FootprintOut]:
    query = (
        select(FootprintRow)
        .where(FootprintRow.customer_id == customer_id)
        .order_by(FootprintRow.id.desc())
        .limit(limit)
    )
    return read(uow, lambda s: [_out(r) for r in s.scalars(query)])
