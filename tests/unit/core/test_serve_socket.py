"""``greenbank serve --workers N``: each worker's own socket, whose connections get TCP_NODELAY.

Without TCP_NODELAY every keep-alive request after the first waits for the client's delayed
ACK (~40 ms on Linux; uvicorn issue #3149). The spread of connections over workers is tested
end to end in ``tests/e2e/test_cli_foundation.py``.
"""

from __future__ import annotations

import asyncio
import socket

from greenbank.cli.serve import worker_socket


def test_workers_bind_one_address_each_with_its_own_socket() -> None:
    first = worker_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    with first, worker_socket("127.0.0.1", port) as second:
        assert second.getsockname() == first.getsockname()
        for sock in (first, second):
            assert sock.proto == socket.IPPROTO_TCP
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def _accepted_nodelay(sock: socket.socket) -> int:
    """TCP_NODELAY of a connection asyncio accepts on ``sock`` (as a uvicorn worker would)."""

    async def probe() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Report(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Report, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            result = await asyncio.wait_for(accepted, 5)
            writer.close()
            return result

    return asyncio.run(probe())


def test_accepted_connections_get_tcp_nodelay() -> None:
    assert _accepted_nodelay(worker_socket("127.0.0.1", 0)) == 1


def test_uvicorns_own_socket_would_not() -> None:
    """The defect worker_socket avoids (fails once uvicorn is fixed)."""
    import uvicorn

    sock = uvicorn.Config("greenbank.api:create_app", host="127.0.0.1", port=0).bind_socket()
    assert _accepted_nodelay(sock) == 0
