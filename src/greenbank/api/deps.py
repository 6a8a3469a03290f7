"""Typed FastAPI dependencies: the container and what routers need from it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from greenbank.bootstrap import Container


async def get_container(request: Request) -> Container:
    """``async`` because it only reads an attribute: FastAPI runs a plain ``def`` dependency in
    the thread pool, one more thread hand-off on every request."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
