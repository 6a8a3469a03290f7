"""Demo seed: the version-1 methodologies (migration 0007 loads them too; this is a no-op then)."""

from __future__ import annotations

from greenbank.bootstrap import Container
from greenbank.carbon.catalog import install_v1


def seed(container: Container) -> list[str]:
    with container.uow() as uow:
        added = install_v1(uow.session, now=container.clock.now(), actor="demo-seed")
        uow.commit()
    return added
