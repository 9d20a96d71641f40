"""`hotline worker timers`: the clock's jobs run as arq cron jobs in a process of their own."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bench.citizens import SECRET_HEADER, telegram_update
from bench.cluster import HOTLINE, Cluster, Process
from handoff.models import Conversation, ConversationState
from tests.production.conftest import TELEGRAM_SECRET


def test_the_timers_worker_closes_idle_chats(cluster: Cluster, pg_engine: Engine) -> None:
    web = cluster.web()
    web.wait_ready()
    update = telegram_update(7)
    update["message"]["text"] = "你好"  # type: ignore[index]  # stays with the bot: no ticket
    assert httpx.post(web.url + "/telegram/webhook", json=update, headers={SECRET_HEADER: TELEGRAM_SECRET}).status_code == 200
    time.sleep(1.5)
    env = {**cluster.env, "HOTLINE_IDLE_CLOSE_HOURS": "0.0003"}  # about a second
    timers = Process("timers", [HOTLINE, "worker", "timers"], env, cluster.log_dir).start()
    cluster.processes.append(timers)
    deadline = time.monotonic() + 30
    while True:
        with Session(pg_engine) as session:
            state = session.scalar(select(Conversation.state))
        if state == ConversationState.CLOSED:
            break
        assert time.monotonic() < deadline, f"still {state}: {timers.log_path.read_text()[-2000:]}"
        time.sleep(0.2)
