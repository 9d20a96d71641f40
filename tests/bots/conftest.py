"""Fake platforms for the channel tests (defined in `platforms`, shared with tests/api)."""

from tests.bots.platforms import fake_telegram, fake_wechat  # noqa: F401
