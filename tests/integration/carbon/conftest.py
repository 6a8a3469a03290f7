"""Carbon fixtures: a container with the version-1 methodologies loaded."""

from __future__ import annotations

import pytest

from greenbank.bootstrap import Container
from greenbank.carbon.catalog import install_v1


@pytest.fixture
def carbon(container: Container) -> Container:
    """The container with version 1 loaded (PostgreSQL tests start from truncated tables)."""
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="test")
        uow.commit()
    return container
