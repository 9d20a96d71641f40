"""The WeChat Official Account's server URL: the GET check and message callbacks.

WeChat waits five seconds for an answer, then retries (three times in all). The engine's first
reply goes back inside the response (a passive reply); the others, and everything if the engine
was slow, go through the customer-service API via the outbox. A retry finds the stored message
and gets the same first reply, with no second ticket.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import anyio
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.limits import TOO_FAST
from api.runtime import Runtime
from bots.errors import InvalidSignatureError, MalformedPayloadError
from bots.wechat import Callback, WeChatChannel
from handoff.errors import InvalidMessageError
from handoff.messages import Reply
from handoff.passive import take_passive_reply

log = logging.getLogger(__name__)

HOLD = timedelta(seconds=4)  # replies stay ours this long; then the worker takes them
ANSWER_BY = 4.0  # seconds after the callback arrived; later, WeChat may have given up on us


async def wechat_verify(request: Request) -> Response:
    channel = _channel(request)
    if channel is None:
        return PlainTextResponse("not configured", status_code=404)
    try:
        return PlainTextResponse(channel.verify_url(request.query_params))
    except InvalidSignatureError:
        return PlainTextResponse("invalid signature", status_code=403)


async def wechat_callback(request: Request) -> Response:
    started = time.monotonic()
    runtime: Runtime = request.app.state.runtime
    channel = runtime.wechat
    if channel is None:
        return PlainTextResponse("not configured", status_code=404)
    query = dict(request.query_params)
    try:
        callback = channel.read_callback(await request.body(), query)
    except InvalidSignatureError:
        return PlainTextResponse("invalid signature", status_code=403)
    except MalformedPayloadError as exc:
        return PlainTextResponse(f"malformed callback: {exc}", status_code=400)
    inbound = callback.message
    if inbound is None:
        return PlainTextResponse("success")  # WeChat's "received, nothing to say"
    if not await runtime.limits.allow_citizen(inbound.channel, inbound.channel_user_id):
        return Response(_render(channel, callback, Reply(TOO_FAST), query), media_type="application/xml")
    try:
        result = await runtime.receive(inbound, hold_replies=HOLD, answer_by=started + ANSWER_BY)
        answer = result.passive_reply
        if answer is None:  # a retry, or replies held by the engine: settle them now
            in_time = time.monotonic() - started < ANSWER_BY
            answer = await anyio.to_thread.run_sync(
                lambda: take_passive_reply(runtime.new_uow(), result, in_time=in_time)
            )
    except InvalidMessageError as exc:
        answer = Reply(str(exc))
    except OperationalError:
        log.exception("database unavailable while handling a WeChat callback")
        return PlainTextResponse("unavailable", status_code=503)
    if answer is None:
        return PlainTextResponse("success")
    return Response(_render(channel, callback, answer, query), media_type="application/xml")


# A plain Starlette route (see `api.routes.WEBHOOKS`): one path, the GET check and the callbacks.
ROUTES = [
    Route("/wechat", wechat_verify, methods=["GET"]),
    Route("/wechat", wechat_callback, methods=["POST"]),
]


def _render(channel: WeChatChannel, callback: Callback, reply: Reply, query: dict[str, str]) -> str:
    return channel.passive_reply(callback, reply, query)


def _channel(request: Request) -> WeChatChannel | None:
    runtime: Runtime = request.app.state.runtime
    return runtime.wechat
