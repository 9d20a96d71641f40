"""Prometheus metrics at /metrics, one registry per app (tests build many apps in one process).

Counted as they happen: messages in (from the committed changes, so every channel alike), messages
out and delivery failures (from the delivery worker), NLU latency (around `analyze`). Read from the
database at scrape time: the outbox's depth and tickets by status, the same for every process.
Web processes that share a port (`hotline serve --processes N`) count into files of one directory
(prometheus_client's multiprocess mode), and any of them answers a scrape with the sum of all;
otherwise each process is scraped on its own and Prometheus sums them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from handoff.events import Change
from handoff.intake import Analyzer
from handoff.models import OutboxEntry, OutboxStatus, Ticket
from handoff.store import UowFactory
from nlu.types import Analysis, AnalysisContext

router = APIRouter(tags=["health"])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._database: _DatabaseCollector | None = None
        self.messages_in = Counter(
            "hotline_messages_in", "Citizen messages stored", ["channel"], registry=self.registry
        )
        self.messages_out = Counter(
            "hotline_messages_out", "Messages delivered to a platform", ["channel"], registry=self.registry
        )
        self.delivery_failures = Counter(
            "hotline_delivery_failures", "Sends that failed (each attempt)", ["channel", "final"], registry=self.registry
        )
        self.nlu_seconds = Histogram(
            "hotline_nlu_seconds",
            "Time to analyse one message",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=self.registry,
        )

    def committed(self, changes: Sequence[Change]) -> None:
        """The hub's relay: count the inbound messages of each commit."""
        for change in changes:
            if change.kind == "message" and change.data.get("direction") == "in":
                self.messages_in.labels(change.data.get("channel") or "unknown").inc()

    def delivered(self, channel: str, sent: bool, final: bool) -> None:
        """The delivery worker's observer."""
        if sent:
            self.messages_out.labels(channel).inc()
        else:
            self.delivery_failures.labels(channel, "true" if final else "false").inc()

    def watch_database(self, uow: UowFactory) -> None:
        self._database = _DatabaseCollector(uow)
        self.registry.register(self._database)

    def render(self) -> bytes:
        shared = os.environ.get(SHARED_DIRECTORY)
        if not shared:
            return generate_latest(self.registry)
        registry = CollectorRegistry()  # this scrape's: every process's files, and the database
        multiprocess.MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
        if self._database is not None:
            registry.register(self._database)
        return generate_latest(registry)


SHARED_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is imported


@contextlib.contextmanager
def shared_between_processes() -> Iterator[Path]:
    """For the web processes about to be started: count into one fresh directory, removed after.

    Set before they start, because prometheus_client chooses file-backed values on import."""
    directory = Path(tempfile.mkdtemp(prefix="hotline-metrics-"))
    previous = os.environ.get(SHARED_DIRECTORY)
    os.environ[SHARED_DIRECTORY] = str(directory)
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(SHARED_DIRECTORY, None)
        else:
            os.environ[SHARED_DIRECTORY] = previous
        shutil.rmtree(directory, ignore_errors=True)


class TimedAnalyzer:
    """The NLU, with each `analyze` timed into the histogram."""

    def __init__(self, nlu: Analyzer, histogram: Histogram) -> None:
        self.nlu = nlu
        self._histogram = histogram
        self.categories = getattr(nlu, "categories", ())

    def prepare(self, texts: Sequence[str]) -> None:
        self.nlu.prepare(texts)

    def analyze(self, text: str, context: AnalysisContext | None = None) -> Analysis:
        started = time.perf_counter()
        try:
            return self.nlu.analyze(text, context)
        finally:
            self._histogram.observe(time.perf_counter() - started)


class _DatabaseCollector(Collector):
    def __init__(self, uow: UowFactory) -> None:
        self._uow = uow

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("hotline_outbox_depth", "Outbox entries not yet delivered", labels=["channel", "status"])
        tickets = GaugeMetricFamily("hotline_tickets", "Tickets by status", labels=["status"])
        try:
            with self._uow() as uow:
                for channel, status, count in uow.session.execute(
                    select(OutboxEntry.channel, OutboxEntry.status, func.count())
                    .where(OutboxEntry.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                    .group_by(OutboxEntry.channel, OutboxEntry.status)
                ):
                    depth.add_metric([str(channel), str(status)], count)
                for status, count in uow.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)):
                    tickets.add_metric([str(status)], count)
        except SQLAlchemyError:  # a scrape during a database outage still returns the counters
            return
        yield depth
        yield tickets


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    collected: Metrics = request.app.state.metrics
    body = await anyio.to_thread.run_sync(collected.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
