"""The fake Telegram and WeChat APIs, for the webhook tests."""

from tests.bots.platforms import fake_telegram, fake_wechat  # noqa: F401
