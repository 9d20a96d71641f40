"""The fake Telegram and WeChat APIs, for the webhook tests, and a server with both channels."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.config import Settings
from tests.bots.platforms import (  # noqa: F401
    TELEGRAM_TOKEN,
    WECHAT_APP_ID,
    WECHAT_SECRET,
    FakeTelegram,
    FakeWeChat,
    fake_telegram,
    fake_wechat,
)
from tests.conftest import LiveServer

WECHAT_TOKEN = "hotline-callback-token"


@pytest.fixture
def channels_server(
    db_url: str, tmp_path: Path, real_nlu: object, fake_telegram: FakeTelegram, fake_wechat: FakeWeChat  # noqa: F811
) -> Iterator[LiveServer]:
    """The real app with the real NLU, Telegram and WeChat pointed at the fake APIs (`WECHAT_TOKEN`)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False,
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret="hook", telegram_api_url=fake_telegram.url,
        wechat_app_id=WECHAT_APP_ID, wechat_app_secret=WECHAT_SECRET, wechat_token=WECHAT_TOKEN, wechat_api_url=fake_wechat.url,
    )
    with LiveServer(settings, real_nlu) as live:
        yield live
