"""Demo data shared by every domain (the domains add their own ``seed`` modules)."""

from __future__ import annotations

from sqlalchemy import select

from greenbank.audit.models import AuditLine
from greenbank.audit.service import record
from greenbank.bootstrap import Container


def seed(container: Container) -> list[str]:
    with container.uow() as uow:
        seeded = uow.session.scalar(select(AuditLine.id).where(AuditLine.action == "demo.seed"))
        if seeded:
            return ["demo marker already present"]
        record(uow.session, container.clock, actor="cli", action="demo.seed")
        uow.commit()
    return ["demo marker written"]
