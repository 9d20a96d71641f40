"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

PTB sends through a `BaseRequest`, which it documents as the place for another HTTP library. Its
own `HTTPXRequest` spent 1.5 ms of CPU a request in the delivery worker (httpx's pure-Python
connection pool and parser); aiohttp's C parser does the same for 0.3 ms, and the delivery worker
is mostly HTTP requests. Everything above the wire (the Bot API methods, errors, retry_after) is
still PTB's.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """Keep-alive connections to the Bot API, at most `connection_pool_size` at a time.

    Timeouts as PTB's: `connect_timeout` to open a connection, `pool_timeout` to wait for a free
    one, `read_timeout` between bytes of the answer, `write_timeout` to send (aiohttp has no write
    timeout of its own: it bounds the whole request together with the read timeout)."""

    __slots__ = ("_connector_limit", "_session", "_timeouts")

    def __init__(
        self,
        connection_pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._connector_limit = connection_pool_size
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout, "pool": pool_timeout}
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Made here, not in __init__: an aiohttp session belongs to the running event loop.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connector_limit),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            await self.initialize()  # like HTTPXRequest, usable before `Bot.initialize()`
        assert self._session is not None
        read, write, connect, pool = (
            self._timeouts[name] if isinstance(value, DefaultValue) else value
            for name, value in (
                ("read", read_timeout), ("write", write_timeout), ("connect", connect_timeout), ("pool", pool_timeout)
            )
        )
        timeout = aiohttp.ClientTimeout(
            total=None if read is None or write is None else read + write,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            body, headers = _body(request_data)
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _body(request_data: RequestData | None) -> tuple[aiohttp.FormData | bytes | None, dict[str, str] | None]:
    """As PTB's httpx layer sends it: form fields holding JSON values, multipart when files go along."""
    if request_data is None:
        return None, None
    files = request_data.multipart_data
    if not files:  # encoded here: aiohttp's FormData costs more than the request itself
        return request_data.url_encoded_parameters().encode(), _FORM
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None

