"""Typed FastAPI dependencies: the container and what routers need from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from greenbank.bootstrap import Container


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
