"""Building the platform channels from the settings: only those that are configured exist."""

from __future__ import annotations

from telegram import Bot

from api.config import Settings
from bots.ratelimit import RateLimiter
from bots.telegram import TelegramChannel
from bots.telegram_request import AiohttpRequest
from bots.wechat import WeChatApiClient, WeChatChannel
from handoff.store import UowFactory


# Keep-alive connections to the Bot API, and so sends in flight: a few suffice for far more than
# Telegram's 30 messages a second (each send takes a round trip of tens of milliseconds).
TELEGRAM_CONNECTIONS = 8


def build_telegram(settings: Settings) -> TelegramChannel | None:
    if not settings.telegram_token:
        return None
    timeout = settings.channel_timeout
    request = AiohttpRequest(
        connection_pool_size=TELEGRAM_CONNECTIONS,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )
    # getUpdates long-polls, so it gets its own connection and a read timeout longer than its wait.
    updates_request = AiohttpRequest(connection_pool_size=1, read_timeout=60.0, connect_timeout=timeout)
    api = settings.telegram_api_url.rstrip("/")
    bot = Bot(
        settings.telegram_token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        request=request,
        get_updates_request=updates_request,
    )
    limiter = RateLimiter(overall=settings.telegram_rate_overall, per_chat=settings.telegram_rate_per_chat)
    return TelegramChannel(bot, webhook_secret=settings.telegram_webhook_secret or "", limiter=limiter,
                           connections=TELEGRAM_CONNECTIONS)


def build_wechat(settings: Settings, uow: UowFactory) -> WeChatChannel | None:
    if not (settings.wechat_app_id and settings.wechat_token):
        return None
    client = None
    if settings.wechat_app_secret:
        client = WeChatApiClient(
            settings.wechat_app_id,
            settings.wechat_app_secret,
            uow=uow,
            api_url=settings.wechat_api_url,
            timeout=settings.channel_timeout,
        )
    return WeChatChannel(
        app_id=settings.wechat_app_id,
        token=settings.wechat_token,
        aes_key=settings.wechat_aes_key or None,
        client=client,
        template_id=settings.wechat_template_id or None,
    )
