"""Group commit for the webhooks: messages that arrive while a batch is being written go in the next.

With no load a message is handled at once, alone. Under a burst each transaction carries the
messages that queued meanwhile, so a message costs a row in multi-row INSERTs instead of its own
round trips and commit (`handoff.intake.handle_batch`). No timer: nothing waits for a batch to
fill, so batching adds no latency, only takes away queueing. A webhook still answers only after
the transaction holding its message and reply has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import anyio

from handoff.intake import Submission
from handoff.messages import InboundMessage, InboundResult

HandleBatch = Callable[[Sequence[Submission]], Sequence[InboundResult | Exception]]


@dataclass
class _Waiting:
    submission: Submission
    answer: asyncio.Future[InboundResult]


class IntakeBatcher:
    def __init__(self, handle_batch: HandleBatch, *, max_batch: int = 64) -> None:
        self._handle_batch = handle_batch
        self._max_batch = max(1, max_batch)
        self._waiting: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(
        self, msg: InboundMessage, *, hold_replies: timedelta | None = None, answer_by: float | None = None
    ) -> InboundResult:
        """Handle `msg` in the next batch; raises what the engine raised for it (a refused message,
        a database that is down). See `Submission` for the two options."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(Submission(msg, hold_replies, answer_by), loop.create_future())
        self._waiting.append(waiting)
        if self._drainer is None or self._drainer.done() or self._drainer.get_loop() is not loop:
            self._drainer = loop.create_task(self._drain(), name="intake-batches")
        return await waiting.answer

    async def _drain(self) -> None:
        """Write batches until nobody waits; at most one batch of this process is in flight."""
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            batch = [w for w in batch if w.answer.get_loop() is loop and not w.answer.done()]
            if not batch:
                continue
            try:
                results = await anyio.to_thread.run_sync(self._handle_batch, [w.submission for w in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting webhook hears it (503), none hangs
                for waiting in batch:
                    _settle(waiting.answer, exc)
                continue
            for waiting, result in zip(batch, results, strict=True):
                _settle(waiting.answer, result)


def _settle(answer: asyncio.Future[InboundResult], outcome: InboundResult | Exception) -> None:
    if answer.done():  # the webhook's request was cancelled; what it sent is stored all the same
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)
