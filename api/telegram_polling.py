"""Polling mode: getUpdates instead of a webhook, for running without a public URL.

Updates take the same path as the webhook's (`api.routes.telegram.handle_update`). The offset
only moves past an update once it has been handled, so a crash re-reads it and the stored
`update:<id>` makes the second reading harmless.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import OperationalError
from telegram.error import TelegramError

from api.routes.telegram import handle_update
from api.runtime import Runtime
from bots.errors import MalformedPayloadError
from bots.telegram import UPDATE_TYPES, TelegramChannel

log = logging.getLogger(__name__)


async def poll_once(runtime: Runtime, channel: TelegramChannel, offset: int | None, *, wait: int = 30) -> int | None:
    """Fetch and handle one batch of updates; return the next offset."""
    updates = await channel.bot.get_updates(offset=offset, timeout=wait, allowed_updates=UPDATE_TYPES)
    for update in updates:
        try:
            await handle_update(runtime, channel, update.to_dict())  # back to the webhook's JSON
        except MalformedPayloadError as exc:
            log.warning("skipping an update we cannot read: %s", exc)
        offset = update.update_id + 1
    return offset


async def poll_forever(runtime: Runtime, channel: TelegramChannel, *, wait: int = 30) -> None:
    await channel.bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    offset: int | None = None
    while True:
        try:
            offset = await poll_once(runtime, channel, offset, wait=wait)
        except (TelegramError, OperationalError) as exc:
            # Telegram or the database is away: the offset did not move, so nothing is lost.
            log.warning("polling failed (%s); retrying in 3 s", type(exc).__name__)
            await asyncio.sleep(3)
