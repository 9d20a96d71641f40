"""Production mode in a web process: Redis for live events between processes, shared rate limits
and NLU reloads. Without `HOTLINE_REDIS_URL` none of this runs and the app is the embedded one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import FastAPI
from redis.asyncio import Redis

from api.config import Settings
from api.fanout import RedisFanout, running
from api.heap import swap_long_lived
from api.limits import InboundLimits
from api.runtime import Runtime

log = logging.getLogger(__name__)


def redis_client(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    # Short timeouts: a Redis outage must cost a request milliseconds, not the socket default.
    client: Redis = Redis.from_url(
        settings.redis_url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=10
    )
    return client


def pubsub_client(settings: Settings) -> Redis:
    """For listening: no read timeout (a quiet channel is not an outage); pings keep it honest."""
    assert settings.redis_url
    client: Redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1.0, health_check_interval=10)
    return client


@contextlib.asynccontextmanager
async def production_services(runtime: Runtime) -> AsyncIterator[None]:
    """Join the other processes through Redis for the lifetime of the app."""
    settings = runtime.settings
    if not settings.redis_url:
        yield
        return
    redis = redis_client(settings)
    assert redis is not None
    runtime.redis = redis
    runtime.limits = InboundLimits(
        per_citizen=settings.rate_per_citizen,
        per_ip=settings.rate_per_ip,
        redis=redis,
        namespace=settings.redis_namespace,
    )
    fanout = RedisFanout(
        pubsub_client(settings),
        runtime.live,
        namespace=settings.redis_namespace,
        push_web_frame=runtime.web.push,
        on_nlu_reload=lambda model_dir: reload_nlu(runtime, model_dir),
    )
    runtime.live.relay_to(fanout.publish_changes)
    async with running(fanout):
        yield


async def reload_nlu(runtime: Runtime, model_dir: str | None) -> None:
    """Swap in a retrained model (announced by the NLU worker once it loaded it cleanly)."""
    import nlu as nlu_package

    path = Path(model_dir) if model_dir else runtime.settings.nlu_model_dir
    model = await anyio.to_thread.run_sync(
        lambda: nlu_package.load(path, jurisdiction=runtime.settings.jurisdiction)
    )
    if runtime.heap_frozen:  # the old model must not stay frozen: collected once, then the rest refrozen
        swap_long_lived(lambda: runtime.swap_nlu(model))
    else:
        runtime.swap_nlu(model)
    log.info("NLU model reloaded from %s", path or "the shipped model")


def serve_app() -> FastAPI:
    """The app factory `hotline serve --processes N` gives each web process."""
    from api.logs import configure_logging
    from api.main import create_app

    settings = Settings()
    configure_logging(settings)
    return create_app(settings, own_process=True)
