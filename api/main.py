"""The application factory. Everything with a lifetime (engine, NLU, channels, workers) lives in
the lifespan, never at import time, so tests build as many apps as they like."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib import resources

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api import metrics
from api.config import Settings
from api.heap import freeze_long_lived
from api.jobs import timer_jobs
from api.limits import InboundLimits
from api.live import LiveHub
from api.metrics import Metrics
from api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from api.production import production_services
from api.channels import build_telegram, build_wechat
from api.routes import WEBHOOKS, assignments, auth, citizens, console_ws, conversations, health, open311, pages, stats, tickets, webchat
from api.runtime import Runtime
from bots.web import WebChatChannel
from handoff import schema
from handoff.delivery import DeliveryWorker
from handoff.errors import HotlineError
from handoff.intake import Analyzer, IntakeSettings
from handoff.messages import Sender
from handoff.store import UnitOfWork, make_engine, make_session_factory
from handoff.timers import run_timers
from handoff.dispatch import seed_sla_rules
from handoff.live_chat import seed_canned_replies
from handoff.models import Unit
from handoff.units import read_departments, read_units, seed_units

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, nlu: Analyzer | None = None, own_process: bool = False
) -> FastAPI:
    """Build the app. `nlu` replaces the trained NLU (tests pass a small one). `own_process`: the
    app is the process's only one (`hotline serve`), so what start-up built is frozen out of the
    cycle collector (`api.heap`)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await anyio.to_thread.run_sync(_build_runtime, settings, nlu)
        runtime.live.bind(asyncio.get_running_loop())
        app.state.runtime = runtime
        app.state.metrics = runtime.metrics
        services = production_services(runtime)
        await services.__aenter__()
        if runtime.telegram is not None:
            await runtime.telegram.start()
        if own_process:
            freeze_long_lived()
            runtime.heap_frozen = True
        tasks: list[asyncio.Task[None]] = []
        if settings.run_workers:
            tasks.append(asyncio.create_task(runtime.worker.run(), name="delivery"))
            tasks.append(asyncio.create_task(run_timers(runtime.uow, timer_jobs(settings)), name="timers"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.__aexit__(None, None, None)
            if runtime.telegram is not None:
                await runtime.telegram.close()
            runtime.engine.dispose()

    app = FastAPI(
        title="Hotline",
        summary="12345 citizen hotline intake: chat channels, NLU, tickets and operators.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.exception_handler(HotlineError)
    async def hotline_error(_request: Request, exc: HotlineError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.http_status)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    # Routes are matched in order: the platforms' webhooks, where bursts land, first.
    app.router.routes.extend(WEBHOOKS)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(webchat.router)
    for router in (auth.router, conversations.router, tickets.router, assignments.router, console_ws.router, open311.router,
                   stats.router, stats.similar_router, citizens.router):
        app.include_router(router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("api") / "static")), name="static")
    return app


def _build_runtime(settings: Settings, nlu: Analyzer | None) -> Runtime:
    engine = make_engine(settings.db_url)
    if settings.auto_migrate:
        prepare_database(engine, jurisdiction=settings.jurisdiction)
    session_factory = make_session_factory(engine)
    web = WebChatChannel()
    telegram_channel = build_telegram(settings)
    wechat_channel = build_wechat(settings, lambda: uow())
    senders: dict[str, Sender] = {web.name: web}
    senders.update({c.name: c for c in (telegram_channel, wechat_channel) if c is not None})
    live = LiveHub()
    collected = Metrics()
    live.relay_to(collected.committed)

    def uow() -> UnitOfWork:
        return UnitOfWork(session_factory, on_commit=live.committed)

    worker = DeliveryWorker(uow, senders, observe=collected.delivered)
    live.on_outbox(worker.wake)
    collected.watch_database(uow)
    if nlu is None:
        import nlu as nlu_package

        nlu = nlu_package.load(settings.nlu_model_dir, jurisdiction=settings.jurisdiction)
    categories = tuple(getattr(nlu, "categories", ()))
    runtime = Runtime(
        settings=settings,
        engine=engine,
        uow=uow,
        nlu=nlu,
        web=web,
        worker=worker,
        live=live,
        categories=categories,
        intake=IntakeSettings(max_chars=settings.max_message_chars, tz=settings.tz),
        telegram=telegram_channel,
        wechat=wechat_channel,
        metrics=collected,
        limits=InboundLimits(per_citizen=settings.rate_per_citizen, per_ip=settings.rate_per_ip),
    )
    runtime.swap_nlu(nlu)
    return runtime


def prepare_database(engine: Engine, *, jurisdiction: str) -> None:
    """Embedded default: bring the schema up to date and load the reference data on first run."""
    schema.upgrade(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        report = seed_reference_data(uow.session, jurisdiction=jurisdiction, only_if_empty=True)
        uow.commit()
    if report:
        log.info("seeded reference data: %s", report)


def seed_reference_data(session: Session, *, jurisdiction: str, only_if_empty: bool = False) -> str:
    """Units, routing rules, SLA rules and canned replies; idempotent."""
    if only_if_empty and session.scalar(select(func.count()).select_from(Unit)):
        return ""
    units = seed_units(session, read_units(jurisdiction) + read_departments())
    sla = seed_sla_rules(session)
    canned = seed_canned_replies(session)
    return (
        f"units: {units.created} created, {units.updated} updated; routing rules: {units.rules_created} created; "
        f"SLA rules: {sla} created; canned replies: {canned} created"
    )
