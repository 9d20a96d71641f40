"""What the running app holds: built once in the lifespan, handed to routes through `deps`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import Engine

from api.config import Settings
from api.limits import InboundLimits
from api.live import LiveHub
from api.metrics import Metrics, TimedAnalyzer
from bots.telegram import TelegramChannel
from bots.web import WebChatChannel
from bots.wechat import WeChatChannel
from handoff.delivery import DeliveryWorker
from handoff.group_commit import GroupCommit, in_worker_thread
from handoff.intake import Analyzer, IntakeSettings, Submission, handle_batch
from handoff.messages import InboundMessage, InboundResult
from handoff.store import UnitOfWork, UowFactory


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    uow: UowFactory
    nlu: Analyzer
    web: WebChatChannel
    worker: DeliveryWorker
    live: LiveHub
    categories: tuple[str, ...]  # the taxonomy's top-level labels
    intake: IntakeSettings
    telegram: TelegramChannel | None = None  # configured platform channels
    wechat: WeChatChannel | None = None
    metrics: Metrics = field(default_factory=Metrics)
    limits: InboundLimits = field(default_factory=lambda: InboundLimits(per_citizen=0, per_ip=0))
    redis: Redis | None = None  # production mode (`api.production`)
    heap_frozen: bool = False  # start-up's objects are out of the cycle collector's way (`api.heap`)
    # Webhooks' messages that queue while a batch is written go in the next (group commit).
    batcher: GroupCommit[Submission, InboundResult] = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = GroupCommit(in_worker_thread(self._handle_batch), max_group=self.settings.intake_batch_size, name="intake")

    async def receive(
        self, msg: InboundMessage, *, hold_replies: timedelta | None = None, answer_by: float | None = None
    ) -> InboundResult:
        """A citizen's message through the engine (in the next group-committed batch)."""
        return await self.batcher.submit(Submission(msg, hold_replies, answer_by))

    def _handle_batch(self, submissions: Sequence[Submission]) -> Sequence[InboundResult | Exception]:
        return handle_batch(self.uow, nlu=self.nlu, submissions=submissions, settings=self.intake)

    def new_uow(self) -> UnitOfWork:
        return self.uow()

    def swap_nlu(self, model: Analyzer) -> None:
        """Use `model` from the next message on, timed for the metrics."""
        self.nlu = TimedAnalyzer(model, self.metrics.nlu_seconds)
