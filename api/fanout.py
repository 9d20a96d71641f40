"""Passing events between processes through Redis pub/sub (production mode).

Every process publishes what its commits changed; every process hears what the others published
and hands it to its own `LiveHub`: an operator's console socket on process B sees the message a
citizen's webhook stored on process A, and a delivery worker wakes when a web process queued a
reply. The delivery worker also pushes web-chat replies this way, to whichever web process holds
the citizen's socket. NLU reloads are announced here too.

Pub/sub is fire-and-forget, which is right for it: the database is the record. An event lost while
Redis restarts costs a console a refresh and the worker one poll interval, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from api.live import LiveHub
from handoff.events import Change

log = logging.getLogger(__name__)

RECONNECT_AFTER = 0.5  # seconds between attempts while Redis is away
PushFrame = Callable[[str, dict[str, Any]], Awaitable[None]]
OnNluReload = Callable[[str | None], Awaitable[None]]


def encode_changes(changes: Sequence[Change]) -> list[dict[str, Any]]:
    return [
        {
            "kind": c.kind,
            "conversation_id": str(c.conversation_id) if c.conversation_id else None,
            "ticket_id": str(c.ticket_id) if c.ticket_id else None,
            "unit_id": str(c.unit_id) if c.unit_id else None,
            "data": c.data,
        }
        for c in changes
    ]


def decode_changes(items: Sequence[dict[str, Any]]) -> list[Change]:
    def as_uuid(value: object) -> uuid.UUID | None:
        return uuid.UUID(str(value)) if value else None

    return [
        Change(
            str(item["kind"]),
            conversation_id=as_uuid(item.get("conversation_id")),
            ticket_id=as_uuid(item.get("ticket_id")),
            unit_id=as_uuid(item.get("unit_id")),
            data=dict(item.get("data") or {}),
        )
        for item in items
    ]


class RedisFanout:
    """One per process. `publish_changes` is the hub's relay (any thread); `run_*` publish and listen.

    Two channels: `<namespace>:events` (web-chat frames, outbox wake-ups, NLU reloads), which every
    process hears, and `<namespace>:changes` (what commits changed, for the consoles' live view),
    which a process hears only while a console is connected to it: under a burst the changes are
    most of the traffic, and a process with no console would only decode them to drop them.
    """

    def __init__(
        self,
        redis: Redis,
        hub: LiveHub,
        *,
        namespace: str,
        push_web_frame: PushFrame | None = None,
        on_nlu_reload: OnNluReload | None = None,
    ) -> None:
        self.redis = redis
        self.channel = f"{namespace}:events"
        self.changes_channel = f"{namespace}:changes"
        self.origin = uuid.uuid4().hex  # our own changes were already shown here
        self._hub = hub
        self._push_web_frame = push_web_frame
        self._on_nlu_reload = on_nlu_reload
        self._outgoing: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._wake_queued = False  # an outbox wake-up waits to be published: one is enough
        self._loop = asyncio.get_running_loop()
        self._pubsub: PubSub | None = None
        self._following_changes = False
        self.subscribed = asyncio.Event()
        hub.before_listening(self.follow_changes)

    # -- publishing -------------------------------------------------------------------------------

    def publish_changes(self, changes: Sequence[Change]) -> None:
        """Called after every commit, from any thread; order is kept by one publisher task."""
        if self._loop.is_closed():
            return
        if not self._wake_queued and any(c.kind == "outbox" for c in changes):
            self._wake_queued = True
            self._loop.call_soon_threadsafe(self._outgoing.put_nowait, (self.channel, {"type": "outbox", "origin": self.origin}))
        visible = [c for c in changes if c.kind != "outbox"]
        if visible:
            event = {"type": "changes", "origin": self.origin, "changes": encode_changes(visible)}
            self._loop.call_soon_threadsafe(self._outgoing.put_nowait, (self.changes_channel, event))

    async def publish(self, event: dict[str, Any], channel: str | None = None) -> int:
        """Publish now (on the events channel unless told); returns how many processes heard it."""
        return int(await self.redis.publish(channel or self.channel, json.dumps(event, ensure_ascii=False)))

    async def run_publisher(self) -> None:
        while True:
            channel, event = await self._outgoing.get()
            if event["type"] == "outbox":
                self._wake_queued = False  # commits from now on need a wake-up of their own
            try:
                await self.publish(event, channel)
            except (RedisError, OSError) as exc:  # the state is committed; only the live view waits
                log.warning("could not publish a live event: %s", type(exc).__name__)

    # -- listening --------------------------------------------------------------------------------

    async def run_subscriber(self) -> None:
        """Listen for the others' events, reconnecting for as long as it takes."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    self._following_changes = False
                    await pubsub.subscribe(self.channel)
                    self._pubsub = pubsub
                    if self._hub.has_listeners:
                        await self.follow_changes()
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        await self._handle(message.get("channel"), message.get("data"))
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("live events: Redis unavailable (%s), reconnecting", type(exc).__name__)
                await asyncio.sleep(RECONNECT_AFTER)
            finally:
                self._pubsub = None

    async def follow_changes(self) -> None:
        """Hear the other processes' changes from now on (a console connected here)."""
        pubsub = self._pubsub
        if pubsub is None or self._following_changes:
            return
        try:
            await pubsub.subscribe(self.changes_channel)
            self._following_changes = True
        except (RedisError, OSError) as exc:  # the subscriber reconnects, and follows them then
            log.warning("live events: could not follow changes (%s)", type(exc).__name__)

    async def _handle(self, channel: object, raw: object) -> None:
        if _text(channel) == self.changes_channel and not self._hub.has_listeners:
            # The last console here went away: stop hearing changes (decoding them would be for nobody).
            if self._pubsub is not None and self._following_changes:
                self._following_changes = False
                await self._pubsub.unsubscribe(self.changes_channel)
            return
        try:
            event = json.loads(raw) if isinstance(raw, (str, bytes)) else None
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        try:
            if kind in ("changes", "outbox") and event.get("origin") == self.origin:
                return  # ours: this process's hub heard it when it was committed
            if kind == "changes":
                self._hub.received(decode_changes(event.get("changes") or []))
            elif kind == "outbox":
                self._hub.received([Change("outbox")])
            elif kind == "webchat" and self._push_web_frame is not None:
                await self._push_web_frame(str(event["chat_id"]), dict(event["frame"]))
            elif kind == "nlu_reload" and self._on_nlu_reload is not None:
                await self._on_nlu_reload(event.get("model_dir"))
        except Exception:  # one bad event must not stop the listener
            log.exception("could not handle a %s event", kind)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextlib.asynccontextmanager
async def running(fanout: RedisFanout) -> Any:
    """Run the publisher and the subscriber for the lifetime of the block."""
    tasks = [
        asyncio.create_task(fanout.run_publisher(), name="fanout-publisher"),
        asyncio.create_task(fanout.run_subscriber(), name="fanout-subscriber"),
    ]
    try:
        with contextlib.suppress(TimeoutError):  # start anyway; the subscriber keeps trying
            await asyncio.wait_for(fanout.subscribed.wait(), timeout=5)
        yield fanout
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await fanout.redis.aclose()
