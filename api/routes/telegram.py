"""Telegram's webhook: verify the secret token, hand the update to the engine, answer 200.

The same `handle_update` serves `hotline telegram poll`. Replies go out through the outbox; a
message the engine refuses (too long, unreadable) is answered inside the webhook response, which
Telegram executes as a Bot API call.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.limits import TOO_FAST
from api.runtime import Runtime
from bots.errors import InvalidSignatureError, MalformedPayloadError
from bots.telegram import TelegramChannel, parse_update, read_update
from handoff.errors import InvalidMessageError

log = logging.getLogger(__name__)


async def telegram_webhook(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    channel = runtime.telegram
    if channel is None:
        return JSONResponse({"error": "not_configured", "message": "Telegram is not configured"}, status_code=404)
    try:
        data = read_update(await request.body(), request.headers, secret=channel.webhook_secret)
        answer = await handle_update(runtime, channel, data)
    except InvalidSignatureError as exc:
        return JSONResponse({"error": "unauthorized", "message": str(exc)}, status_code=401)
    except MalformedPayloadError as exc:
        return JSONResponse({"error": "malformed_update", "message": str(exc)}, status_code=400)
    except OperationalError:
        log.exception("database unavailable while handling a Telegram update")
        return JSONResponse({"error": "unavailable", "message": "try again later"}, status_code=503)
    return JSONResponse(answer or {"ok": True})


# A plain Starlette route (see `api.routes.WEBHOOKS`).
ROUTES = [Route("/telegram/webhook", telegram_webhook, methods=["POST"])]


async def handle_update(runtime: Runtime, channel: TelegramChannel, data: dict[str, Any]) -> dict[str, Any] | None:
    """Store and answer one update; return a Bot API call for the webhook response, if any."""
    parsed = parse_update(data)
    inbound = parsed.message
    answer: dict[str, Any] | None = None
    if inbound is not None and not await runtime.limits.allow_citizen(inbound.channel, inbound.channel_user_id):
        answer = {"method": "sendMessage", "chat_id": inbound.chat_id, "text": TOO_FAST}
    elif inbound is not None:
        try:
            await runtime.receive(inbound)
        except InvalidMessageError as exc:
            answer = {"method": "sendMessage", "chat_id": inbound.chat_id, "text": str(exc)}
    if parsed.callback_query_id is not None:
        await channel.answer_button(parsed.callback_query_id)
    return answer
