"""Limits against abuse: inbound messages a minute per citizen and per client address.

A fixed one-minute window per key. With Redis (production mode) the count is shared by every web
process; without it, or while Redis is away, each process counts for itself, so a Redis outage
loosens the limit but never refuses a citizen because of it.

Where each applies: per citizen on every channel (the platforms' webhooks are signed, so the
citizen id is real); per address on the web chat, the one channel where citizens connect to us
directly (the webhooks all come from a handful of Telegram and WeChat addresses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from handoff.group_commit import GroupCommit

log = logging.getLogger(__name__)

WINDOW = 60  # seconds
TOO_FAST = "您发送消息太频繁了，请稍等一分钟再发。我们已收到您之前的消息，会尽快处理。"


class InboundLimits:
    """`per_citizen` and `per_ip` are messages a minute; 0 turns one off."""

    def __init__(
        self,
        *,
        per_citizen: int,
        per_ip: int,
        redis: Redis | None = None,
        namespace: str = "hotline",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = {"citizen": per_citizen, "ip": per_ip}
        self._shared = _SharedCounts(redis, ttl=WINDOW * 2) if redis is not None else None
        self._prefix = f"{namespace}:rate"
        self._clock = clock
        self._local: dict[str, int] = {}
        self._local_window = 0

    async def allow_citizen(self, channel: str, user_id: str) -> bool:
        return await self._allow("citizen", f"{channel}:{user_id}")

    async def allow_ip(self, address: str | None) -> bool:
        return await self._allow("ip", address or "unknown")

    async def _allow(self, kind: str, key: str) -> bool:
        limit = self._limits[kind]
        if not limit:
            return True
        window = int(self._clock() // WINDOW)
        if self._shared is not None:
            try:
                return await self._shared.increment(f"{self._prefix}:{kind}:{key}:{window}") <= limit
            except (RedisError, OSError) as exc:
                log.warning("rate limit: Redis unavailable (%s), counting in this process", type(exc).__name__)
        return self._count_local(f"{kind}:{key}", window) <= limit

    def _count_local(self, key: str, window: int) -> int:
        if window != self._local_window:  # a new minute: forget the last one's counts
            self._local, self._local_window = {}, window
        self._local[key] = self._local.get(key, 0) + 1
        return self._local[key]


class _SharedCounts:
    """Counters in Redis. Increments asked for while a round trip is under way go together in the
    next pipeline (`GroupCommit`): under a burst a message costs two commands in a shared round
    trip, not a round trip of its own (which cost the web process more than writing the message did)."""

    def __init__(self, redis: Redis, *, ttl: int) -> None:
        self._redis, self._ttl = redis, ttl
        self._groups: GroupCommit[str, int] = GroupCommit(self._increment_all, max_group=256, name="rate-limits")

    async def increment(self, key: str) -> int:
        return await self._groups.submit(key)

    async def _increment_all(self, keys: Sequence[str]) -> list[int | Exception]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, self._ttl)
            results = await pipe.execute()
        return [int(count) for count in results[::2]]
