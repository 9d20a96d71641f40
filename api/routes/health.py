"""Liveness and readiness for load balancers and the operator on call."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.runtime import Runtime
from handoff.delivery import pending_count

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The process can take traffic: the database answers, Redis answers (production mode), and
    each configured channel has its credentials. Also reports undelivered messages."""
    runtime: Runtime = request.app.state.runtime

    def check_database() -> int:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return pending_count(runtime.new_uow())

    body: dict[str, object] = {"status": "ready", "channels": channel_credentials(runtime)}
    try:
        body["outbox_pending"] = await anyio.to_thread.run_sync(check_database)
        body["database"] = "ok"
    except SQLAlchemyError:
        body["database"] = "unreachable"
    if runtime.redis is not None:
        try:
            await runtime.redis.ping()
            body["queue"] = "ok"
        except (RedisError, OSError):
            body["queue"] = "unreachable"
    channels = body["channels"]
    assert isinstance(channels, dict)
    failing = body["database"] != "ok" or body.get("queue", "ok") != "ok" or "missing" in channels.values()
    if failing:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=503 if failing else 200)


def channel_credentials(runtime: Runtime) -> dict[str, str]:
    """`ok`, or `missing` for a channel that is on but cannot work (a webhook without its secret)."""
    settings, result = runtime.settings, {"web": "ok"}
    if runtime.telegram is not None:
        result["telegram"] = "ok" if settings.telegram_webhook_secret else "missing"
    if runtime.wechat is not None:
        result["wechat"] = "ok" if settings.wechat_app_secret else "missing"
    return result
