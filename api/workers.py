"""Worker processes of the production mode (`hotline worker delivery|timers|nlu`).

- delivery: the outbox's delivery worker, woken by the web processes' commits through Redis and
  polling once a second besides; as many as you like, they claim different chats.
- timers and nlu: arq workers. The clock's jobs are arq cron jobs, which arq runs once a minute
  across however many timer workers are up; NLU reloads are arq jobs (`hotline worker reload-nlu`):
  the worker loads the new model first, and only a model that loads is announced to the web
  processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker
from prometheus_client import start_http_server

from api.channels import build_telegram, build_wechat
from api.config import Settings
from api.fanout import RedisFanout, running
from api.jobs import timer_jobs
from api.live import LiveHub
from api.metrics import Metrics
from api.production import pubsub_client, redis_client
from bots.web import WebChatRelay
from handoff.delivery import DeliveryPolicy, DeliveryWorker
from handoff.messages import Sender
from handoff.store import UnitOfWork, make_engine, make_session_factory

log = logging.getLogger(__name__)
# The delivery worker of production, under load, lets a pass gather what arrived meanwhile.
BUSY_PASS_INTERVAL = 0.1


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_namespace}:queue"


def arq_redis(settings: Settings) -> RedisSettings:
    if not settings.redis_url:
        raise SystemExit("the workers need HOTLINE_REDIS_URL (production mode)")
    return RedisSettings.from_dsn(settings.redis_url)


async def run_delivery(settings: Settings, *, metrics_port: int | None = None) -> None:
    engine = make_engine(settings.db_url)
    factory = make_session_factory(engine)
    live = LiveHub()
    live.bind(asyncio.get_running_loop())
    metrics = Metrics()
    metrics.watch_database(lambda: UnitOfWork(factory))
    if metrics_port:
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)
    if not settings.redis_url:
        raise SystemExit("the delivery worker needs HOTLINE_REDIS_URL (production mode)")
    fanout = RedisFanout(pubsub_client(settings), live, namespace=settings.redis_namespace)
    senders: dict[str, Sender] = {"web": WebChatRelay(fanout.publish)}
    telegram = build_telegram(settings)
    wechat = build_wechat(settings, lambda: UnitOfWork(factory))
    senders.update({c.name: c for c in (telegram, wechat) if c is not None})
    worker = DeliveryWorker(
        lambda: UnitOfWork(factory, on_commit=live.committed),
        senders,
        policy=DeliveryPolicy(lease=timedelta(seconds=settings.delivery_lease_seconds), busy_pass_interval=BUSY_PASS_INTERVAL),
        observe=metrics.delivered,
    )
    live.on_outbox(worker.wake)
    if telegram is not None:
        await telegram.start()
    try:
        async with running(fanout):
            log.info("delivery worker up (channels: %s)", ", ".join(sorted(senders)))
            await worker.run()
    finally:
        if telegram is not None:
            await telegram.close()
        engine.dispose()


# -- arq: timers ------------------------------------------------------------------------------------


async def _timers_startup(ctx: dict[str, Any]) -> None:
    settings = Settings()
    engine = make_engine(settings.db_url)
    ctx["engine"], ctx["factory"], ctx["jobs"] = engine, make_session_factory(engine), timer_jobs(settings)


async def _timers_shutdown(ctx: dict[str, Any]) -> None:
    ctx["engine"].dispose()


async def run_clock(ctx: dict[str, Any]) -> dict[str, int]:
    """Every timer job once; each is its own transaction."""
    now, changed = datetime.now(UTC), {}
    for job in ctx["jobs"]:
        try:
            changed[job.__name__] = await anyio.to_thread.run_sync(job, UnitOfWork(ctx["factory"]), now)
        except Exception:  # one job's failure must not keep the others from running
            log.exception("timer %s failed", job.__name__)
    return changed


def timers_worker(settings: Settings) -> Worker:
    return Worker(
        functions=[],
        cron_jobs=[cron(run_clock, second=0, run_at_startup=True, unique=True, timeout=300)],
        on_startup=_timers_startup,
        on_shutdown=_timers_shutdown,
        redis_settings=arq_redis(settings),
        queue_name=queue_name(settings) + ":timers",
        handle_signals=True,
    )


# -- arq: NLU reloads -----------------------------------------------------------------------------


async def reload_nlu(ctx: dict[str, Any], model_dir: str | None) -> int:
    """Load the model here first; announce it only if it loads and answers. Returns the number of
    processes that heard the announcement."""
    import nlu as nlu_package

    settings: Settings = ctx["settings"]
    path = Path(model_dir) if model_dir else settings.nlu_model_dir
    model = await anyio.to_thread.run_sync(lambda: nlu_package.load(path, jurisdiction=settings.jurisdiction))
    model.analyze("朝阳区望京街道垃圾没人清理")  # a model that cannot analyse is not announced
    redis = redis_client(settings)
    assert redis is not None
    try:
        event = {"type": "nlu_reload", "model_dir": str(path) if path else None}
        heard = int(await redis.publish(f"{settings.redis_namespace}:events", json.dumps(event)))
    finally:
        await redis.aclose()
    log.info("NLU model %s announced to %d processes", path or "(shipped)", heard)
    return heard


async def _nlu_startup(ctx: dict[str, Any]) -> None:
    ctx["settings"] = Settings()


def nlu_worker(settings: Settings, *, burst: bool = False) -> Worker:
    """`burst`: take what is queued, then stop (tests)."""
    return Worker(
        functions=[reload_nlu],
        on_startup=_nlu_startup,
        redis_settings=arq_redis(settings),
        queue_name=queue_name(settings) + ":nlu",
        handle_signals=not burst,
        job_timeout=600,
        burst=burst,
    )


async def enqueue_nlu_reload(settings: Settings, model_dir: str | None) -> str:
    from arq import create_pool

    pool = await create_pool(arq_redis(settings), default_queue_name=queue_name(settings) + ":nlu")
    try:
        job = await pool.enqueue_job("reload_nlu", model_dir)
        assert job is not None
        return job.job_id
    finally:
        await pool.aclose()
