"""Live updates for the console: what each commit changed, pushed to the operators' sockets.

Commits happen in worker threads; `committed` hops onto the event loop. Each socket has a
filter so a unit handler hears only about their own unit's tickets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from handoff.events import Change

log = logging.getLogger(__name__)

SendFrame = Callable[[dict[str, Any]], Awaitable[None]]
Audience = Callable[[Change], bool]


@dataclass(eq=False)
class _Listener:
    send: SendFrame
    hears: Audience


class LiveHub:
    def __init__(self) -> None:
        self._listeners: set[_Listener] = set()
        self._outbox_callbacks: list[Callable[[], None]] = []
        self._relays: list[Callable[[Sequence[Change]], None]] = []  # to the other processes
        self._before_listening: list[Callable[[], Awaitable[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def on_outbox(self, callback: Callable[[], None]) -> None:
        self._outbox_callbacks.append(callback)

    def relay_to(self, publish: Callable[[Sequence[Change]], None]) -> None:
        self._relays.append(publish)

    def before_listening(self, prepare: Callable[[], Awaitable[None]]) -> None:
        """`prepare` runs before a listener is told it hears everything (`listen`): in production
        mode, following the other processes' changes."""
        self._before_listening.append(prepare)

    @property
    def has_listeners(self) -> bool:
        return bool(self._listeners)

    def committed(self, changes: Sequence[Change]) -> None:
        """Called after every commit, from any thread."""
        for publish in self._relays:
            publish(changes)
        self.received(changes)

    def received(self, changes: Sequence[Change]) -> None:
        """Changes committed here, or by another process (production mode, `api.fanout`)."""
        if any(c.kind == "outbox" for c in changes):
            for callback in self._outbox_callbacks:
                callback()
        visible = [c for c in changes if c.kind != "outbox"]
        loop = self._loop
        if visible and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: loop.create_task(self.broadcast(visible)))

    def subscribe(self, send: SendFrame, hears: Audience) -> _Listener:
        listener = _Listener(send, hears)
        self._listeners.add(listener)
        return listener

    async def listen(self, send: SendFrame, hears: Audience) -> _Listener:
        """`subscribe`, returning once the changes of every process reach `send`."""
        listener = self.subscribe(send, hears)
        for prepare in self._before_listening:
            await prepare()
        return listener

    def unsubscribe(self, listener: _Listener) -> None:
        self._listeners.discard(listener)

    async def broadcast(self, changes: Sequence[Change]) -> None:
        for listener in list(self._listeners):
            frames = [change_frame(c) for c in changes if listener.hears(c)]
            if not frames:
                continue
            try:
                await listener.send({"type": "changes", "changes": frames})
            except Exception:  # a console that went away
                self.unsubscribe(listener)


def change_frame(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind,
        "conversation_id": str(change.conversation_id) if change.conversation_id else None,
        "ticket_id": str(change.ticket_id) if change.ticket_id else None,
        "unit_id": str(change.unit_id) if change.unit_id else None,
        "data": change.data,
    }
