"""A minimal HTTP/1.1 client for the load generator: keep-alive connections, Content-Length bodies.

httpx costs about a millisecond of CPU a request. On a two-core machine that the generator shares
with the server it measures, that millisecond is taken from the server, and the generator's own
event loop falls behind: the latencies it reports become its own. This client writes a request
and reads a response with a few bytes operations, as wrk would; it is for loopback benchmarks
against our own server, not a general HTTP client (no TLS, no chunked responses, no redirects).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit


class WireError(Exception):
    """The connection failed or closed before a whole response came back."""


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Wire:
    def __init__(self, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._idle: dict[tuple[str, int], list[Connection]] = {}

    async def post(self, url: str, body: bytes, *, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> int:
        """POST and return the status code; raises WireError when no response came."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = (parts.path or "/") + (f"?{urlencode(params)}" if params else "")
        head = [f"POST {target} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        pool = self._idle.setdefault((host, port), [])
        connection = pool.pop() if pool else None
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection(host, port), self._timeout)
            status, keep = await asyncio.wait_for(self._exchange(connection, request), self._timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as exc:
            if connection is not None:
                connection[1].close()
            raise WireError(type(exc).__name__) from exc
        if keep:
            pool.append(connection)
        else:
            connection[1].close()
        return status

    async def _exchange(self, connection: Connection, request: bytes) -> tuple[int, bool]:
        reader, writer = connection
        writer.write(request)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length, keep = 0, True
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        if length:
            await reader.readexactly(length)
        return status, keep

    async def aclose(self) -> None:
        for pool in self._idle.values():
            for _, writer in pool:
                writer.close()
        self._idle.clear()
