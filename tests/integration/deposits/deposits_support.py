"""Names the catalogue tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

from greenbank.deposits.models import Product

STAFF = "staff:wang"
MakeProduct = Callable[..., Product]
