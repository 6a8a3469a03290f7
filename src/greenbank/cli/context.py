"""Helpers the commands share: building a container from the environment."""

from __future__ import annotations

from pydantic import ValidationError

from greenbank.bootstrap import Container, build_container
from greenbank.config import Settings
from greenbank.errors import ConfigurationError


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigurationError(
            f"invalid setting GREENBANK_{where.upper()}: {first['msg']}"
        ) from err


def open_container() -> Container:
    return build_container(load_settings())
