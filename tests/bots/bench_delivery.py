"""Delivery rate through the fake Telegram Bot API, with the flood limits on and off.

    .venv/bin/python -m tests.bots.bench_delivery

Measures the delivery worker end to end (outbox in SQLite → python-telegram-bot → fake server),
not collected by pytest.
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from api.channels import build_telegram
from api.config import Settings
from bench.delivery import queue_replies
from handoff import schema
from handoff.delivery import DeliveryWorker, pending_count
from handoff.store import UnitOfWork, make_engine, make_session_factory
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram


def _queue(entries: int, chats: int) -> UnitOfWork:
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    schema.upgrade(engine)
    factory = make_session_factory(engine)
    queue_replies(factory, entries=entries, chats=chats)
    return UnitOfWork(factory)


async def _measure(fake: FakeTelegram, entries: int, chats: int, overall: float, per_chat: float) -> float:
    uow = _queue(entries, chats)
    settings = Settings(_env_file=None, telegram_token=TELEGRAM_TOKEN, telegram_api_url=fake.url,  # type: ignore[call-arg]
                        telegram_rate_overall=overall, telegram_rate_per_chat=per_chat)
    channel = build_telegram(settings)
    assert channel is not None
    await channel.start()  # opens the bot's connections; `close` then closes them
    worker = DeliveryWorker(lambda: uow, {"telegram": channel})
    before, started = len(fake.sent()), time.monotonic()
    while pending_count(uow):
        await worker.deliver_due()
    elapsed = time.monotonic() - started
    await channel.close()
    assert len(fake.sent()) - before == entries
    return entries / elapsed


def main() -> None:
    fake = FakeTelegram(TELEGRAM_TOKEN)
    fake.start()
    try:
        for label, entries, chats, overall, per_chat in [
            ("limits off", 1000, 1000, 0.0, 0.0),
            ("limits on (30/s, 1/s a chat)", 300, 300, 30.0, 1.0),
            ("limits on, 10 chats", 60, 10, 30.0, 1.0),
        ]:
            rate = asyncio.run(_measure(fake, entries, chats, overall, per_chat))
            print(f"{label:30} {entries:5} messages to {chats:4} chats: {rate:6.1f} messages a second")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
