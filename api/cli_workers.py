"""`hotline worker …`: the worker processes of the production mode (see `api.workers`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any

import typer

from api.config import Settings

worker_app = typer.Typer(help="Worker processes for production mode (PostgreSQL + Redis).", no_args_is_help=True)


def _settings() -> Settings:
    from api.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    if not settings.redis_url:
        raise typer.BadParameter("set HOTLINE_REDIS_URL: the workers talk to the web processes through Redis")
    return settings


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (it comes with uvicorn[standard]): the delivery worker is all
    sockets, and uvloop's transports cost it a fraction of asyncio's own."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. Windows
        asyncio.run(main)
        return
    uvloop.run(main)


@worker_app.command("delivery")
def delivery(
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on 127.0.0.1:PORT.")] = None,
) -> None:
    """Deliver the outbox to Telegram, WeChat and the web chat; run as many as you like."""
    from api.workers import run_delivery

    _run_fast(run_delivery(_settings(), metrics_port=metrics_port))


@worker_app.command("timers")
def timers() -> None:
    """The clock's jobs (idle chats, surveys, …) as arq cron jobs: once a minute across all timer workers."""
    from api.workers import timers_worker

    timers_worker(_settings()).run()


@worker_app.command("nlu")
def nlu() -> None:
    """Take NLU reload jobs: load the new model, then tell every web process to switch to it."""
    from api.workers import nlu_worker

    nlu_worker(_settings()).run()


@worker_app.command("reload-nlu")
def reload_nlu(
    model_dir: Annotated[str | None, typer.Argument(help="The retrained model folder; omit for the configured one.")] = None,
) -> None:
    """Queue an NLU reload for the NLU worker."""
    from api.workers import enqueue_nlu_reload

    job_id = asyncio.run(enqueue_nlu_reload(_settings(), model_dir))
    typer.echo(f"queued NLU reload (job {job_id})")
