"""Pacing outbound messages to a platform's limits: so many a second overall and per chat.

Each call reserves the next free slot before it sleeps, so concurrent senders queue up fairly
instead of all waking at once and being refused with 429 by the platform.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    """`overall` and `per_chat` are messages a second; 0 or None turns that limit off."""

    def __init__(
        self,
        *,
        overall: float | None,
        per_chat: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overall_gap = 1.0 / overall if overall else 0.0
        self._chat_gap = 1.0 / per_chat if per_chat else 0.0
        self._clock = clock
        self._next_overall = 0.0
        self._next_in_chat: dict[str, float] = {}

    def reserve_chat(self, chat_id: str) -> float:
        """Take this chat's next slot; return how long to wait for it, in seconds."""
        if not self._chat_gap:
            return 0.0
        now = self._clock()
        slot = max(now, self._next_in_chat.get(chat_id, 0.0))
        self._next_in_chat[chat_id] = slot + self._chat_gap
        if len(self._next_in_chat) > 10_000:  # forget chats whose slot has long passed
            self._next_in_chat = {k: v for k, v in self._next_in_chat.items() if v > now}
        return slot - now

    def reserve_overall(self) -> float:
        """Take the next slot of the whole bot; return how long to wait for it."""
        if not self._overall_gap:
            return 0.0
        now = self._clock()
        slot = max(now, self._next_overall)
        self._next_overall = slot + self._overall_gap
        return slot - now

    async def wait(self, chat_id: str) -> None:
        # The chat's turn first, then a slot of the whole: a chat waiting for its own second
        # holds no overall slot meanwhile, so it never slows the other chats down.
        chat_delay = self.reserve_chat(chat_id)
        if chat_delay > 0:
            await asyncio.sleep(chat_delay)
        overall_delay = self.reserve_overall()
        if overall_delay > 0:
            await asyncio.sleep(overall_delay)
