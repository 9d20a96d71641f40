"""The delivery worker alone, in one process, on PostgreSQL: what one Telegram send costs.

    .venv/bin/python -m bench.delivery [--messages 2000]

Creates a database of its own on the PostgreSQL at 127.0.0.1:5432 (dropped at the end), queues one
reply for each of `--messages` chats, starts the fake Telegram API in a process of its own and lets
the real `DeliveryWorker` (python-telegram-bot over `bots.telegram_request`, uvloop, flood limits
off) drain the outbox. Prints sends a second and the worker's CPU time a send, database included.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime

import uvloop
from sqlalchemy.orm import Session, sessionmaker

from api.channels import build_telegram
from api.config import Settings
from bench.fake_platforms import FakePlatformsProcess
from bench.scratch import scratch_database
from handoff import outbox, schema
from handoff.delivery import DeliveryWorker, pending_count
from handoff.messages import Reply
from handoff.models import ChannelIdentity, Citizen, Conversation
from handoff.store import UnitOfWork, make_engine, make_session_factory
from tests.bots.platforms import TELEGRAM_TOKEN


def queue_replies(factory: sessionmaker[Session], *, entries: int, chats: int) -> None:
    """`entries` replies queued in the outbox, spread over `chats` Telegram chats of new citizens."""
    now = datetime.now(UTC)
    with UnitOfWork(factory) as uow:
        conversations = []
        for n in range(chats):
            citizen = Citizen(id=uuid.uuid4(), created_at=now)
            identity = ChannelIdentity(id=uuid.uuid4(), citizen_id=citizen.id, channel="telegram",
                                       channel_user_id=str(n), chat_id=str(5000 + n), created_at=now)
            conversation = Conversation(id=uuid.uuid4(), citizen_id=citizen.id, identity_id=identity.id,
                                        channel="telegram", chat_id=str(5000 + n), state="bot",
                                        created_at=now, updated_at=now)
            uow.session.add_all([citizen, identity, conversation])
            conversations.append(conversation)
        uow.session.flush()
        for n in range(entries):
            reply = Reply(f"您的诉求已受理，工单编号：20261204{n:05d}，类别：市容环境。")
            outbox.enqueue(uow.session, conversation=conversations[n % chats], reply=reply, kind="reply", now=now)
        uow.commit()


async def _drain(factory: sessionmaker[Session], telegram_url: str, messages: int) -> None:
    settings = Settings(_env_file=None, telegram_token=TELEGRAM_TOKEN, telegram_api_url=telegram_url,  # type: ignore[call-arg]
                        telegram_rate_overall=0, telegram_rate_per_chat=0)
    channel = build_telegram(settings)
    assert channel is not None
    await channel.start()
    worker = DeliveryWorker(lambda: UnitOfWork(factory), {"telegram": channel})
    cpu, wall = time.process_time(), time.monotonic()
    while pending_count(UnitOfWork(factory)):
        await worker.deliver_due()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    await channel.close()
    print(f"{messages} Telegram sends to {messages} chats: {messages / wall:6.1f} a second, "
          f"{1000 * cpu / messages:.2f} ms of the worker's CPU a send")


def main(args: argparse.Namespace) -> None:
    with scratch_database() as (_, url):
        engine = make_engine(url)
        platforms = FakePlatformsProcess()
        try:
            schema.upgrade(engine)
            factory = make_session_factory(engine)
            queue_replies(factory, entries=args.messages, chats=args.messages)
            platforms.start()
            uvloop.run(_drain(factory, platforms.telegram_url, args.messages))
        finally:
            platforms.stop()
            engine.dispose()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="replies to send (bounded)")
    main(parser.parse_args())


if __name__ == "__main__":
    cli()
