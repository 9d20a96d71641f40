"""Group commit: work that arrives while a transaction is being written goes in the next one.

With no load every call is handled at once, alone. Under load each transaction carries what queued
meanwhile, so an item costs a row in multi-row statements instead of its own round trips and
commit. No timer: nothing waits for a group to fill, so grouping adds no latency, only takes away
queueing. Used by the webhooks' intake (`handoff.intake.handle_batch`), by the delivery worker's
records of what it sent (both in a worker thread: `in_worker_thread`) and by the shared rate-limit
counts (`api.limits`, one Redis pipeline a group).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    answer: asyncio.Future[Result]


Handle = Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]]


def in_worker_thread(
    handle: Callable[[Sequence[Item]], Sequence[Result | Exception]],
) -> Handle[Item, Result]:
    """A blocking `handle` (a database transaction) run off the event loop."""

    async def handle_in_thread(items: Sequence[Item]) -> Sequence[Result | Exception]:
        return await anyio.to_thread.run_sync(handle, items)

    return handle_in_thread


class GroupCommit(Generic[Item, Result]):
    """`await submit(item)` awaits `handle(items)` for a group holding `item`.

    `handle` returns one result per item, in order; an exception in place of a result is raised to
    that item's caller alone; an exception raised by `handle` reaches every caller of the group.
    """

    def __init__(self, handle: Handle[Item, Result], *, max_group: int = 64, name: str) -> None:
        self._handle = handle
        self._max_group = max(1, max_group)
        self._name = name
        self._waiting: list[_Waiting[Item, Result]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        waiting: _Waiting[Item, Result] = _Waiting(item, loop.create_future())
        self._waiting.append(waiting)
        if self._drainer is None or self._drainer.done() or self._drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain(), name=self._name)
        return await waiting.answer

    async def _drain(self) -> None:
        """Handle groups until nobody waits; at most one group of this process is in flight."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            group, self._waiting = self._waiting[: self._max_group], self._waiting[self._max_group :]
            group = [w for w in group if w.answer.get_loop() is loop and not w.answer.done()]
            if not group:
                continue
            try:
                results = await self._handle([w.item for w in group])
            except Exception as exc:  # noqa: BLE001 - every caller of the group hears it; none hangs
                for waiting in group:
                    _settle(waiting.answer, exc)
                continue
            for waiting, result in zip(group, results, strict=True):
                _settle(waiting.answer, result)


def _settle(answer: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if answer.done():  # the caller was cancelled; its item was handled all the same
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)
