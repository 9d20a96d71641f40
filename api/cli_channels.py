"""`hotline telegram …` and `hotline citizen …`: connecting Telegram, linking one person's records."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated

import typer

from api.config import Settings
from handoff.store import UnitOfWork, make_engine, make_session_factory

telegram_app = typer.Typer(help="Connect the Telegram bot: webhook or polling.", no_args_is_help=True)
citizen_app = typer.Typer(help="Citizens who write on several platforms.", no_args_is_help=True)


def _telegram_settings() -> Settings:
    settings = Settings()
    if not settings.telegram_token:
        raise typer.BadParameter("set HOTLINE_TELEGRAM_TOKEN first (the token @BotFather gave you)")
    return settings


@telegram_app.command("set-webhook")
def set_webhook(
    url: Annotated[str | None, typer.Option(help="Public https base URL (HOTLINE_PUBLIC_URL).")] = None,
) -> None:
    """Tell Telegram to post updates to <public URL>/telegram/webhook with the secret token."""
    from api.channels import build_telegram
    from bots.telegram import UPDATE_TYPES

    settings = _telegram_settings()
    base = url or settings.public_url
    if not base or not settings.telegram_webhook_secret:
        raise typer.BadParameter("set HOTLINE_PUBLIC_URL (or --url) and HOTLINE_TELEGRAM_WEBHOOK_SECRET")
    channel = build_telegram(settings)
    assert channel is not None
    endpoint = f"{base.rstrip('/')}/telegram/webhook"

    async def register() -> None:
        async with channel.bot:
            await channel.bot.set_webhook(
                endpoint, secret_token=settings.telegram_webhook_secret, allowed_updates=UPDATE_TYPES
            )

    asyncio.run(register())
    typer.echo(f"Telegram will post updates to {endpoint}")


@telegram_app.command("poll")
def poll(
    wait: Annotated[int, typer.Option(help="Seconds each getUpdates call waits for news.")] = 30,
) -> None:
    """Fetch updates with getUpdates (no public URL needed) and deliver replies, until Ctrl-C.
    Removes a webhook if one is set."""
    from api.logs import configure_logging
    from api.main import _build_runtime
    from api.telegram_polling import poll_forever

    settings = _telegram_settings()
    configure_logging(settings)

    async def run() -> None:
        runtime = _build_runtime(settings, None)
        runtime.live.bind(asyncio.get_running_loop())
        assert runtime.telegram is not None
        await runtime.telegram.start()
        worker = asyncio.create_task(runtime.worker.run())
        try:
            await poll_forever(runtime, runtime.telegram, wait=wait)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await runtime.telegram.close()

    typer.echo("polling Telegram; Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _uow() -> UnitOfWork:
    return UnitOfWork(make_session_factory(make_engine(Settings().db_url)))


@citizen_app.command("links")
def links() -> None:
    """Citizens on different platforms who gave the same phone number (shown masked)."""
    from handoff.citizens import find_link_candidates

    with _uow() as uow:
        candidates = find_link_candidates(uow.session)
    if not candidates:
        typer.echo("no candidates")
    for candidate in candidates:
        typer.echo(f"phone {candidate.phone_masked}:")
        for c in candidate.citizens:
            typer.echo(f"  {c.id}  {','.join(c.channels):<16} {c.tickets} tickets  {c.display_name or '-'}")


@citizen_app.command("link")
def link(
    keep: Annotated[uuid.UUID, typer.Argument(help="The citizen record to keep.")],
    merge: Annotated[uuid.UUID, typer.Argument(help="The record folded into it.")],
    operator: Annotated[str, typer.Option(help="Who confirmed that they are one person.")],
) -> None:
    """Link two records of one person (same phone): identities, chats and tickets move to KEEP."""
    from handoff.citizens import link_citizens

    record = link_citizens(_uow(), keep=keep, merge=merge, operator=operator)
    moved = record.moved
    typer.echo(
        f"linked: {moved['identities']} identities, {moved['conversations']} conversations, "
        f"{moved['tickets']} tickets moved to {keep}"
    )
