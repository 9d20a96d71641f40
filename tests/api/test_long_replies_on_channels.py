"""An operator's long answer reaches a WeChat citizen whole, through the real adapter, on a fake
WeChat that refuses more than 2048 bytes as the real one does (errcode 45002): in parts, in order,
each delivered once. (Telegram takes 4096 characters, more than an operator may write; its cutting
is tested in tests/handoff/test_reply_parts.py.)"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from handoff.live_chat import operator_reply
from handoff.models import Conversation, Operator, OutboxEntry, OutboxStatus, Role
from handoff.queue import claim_conversation
from tests.api.conftest import WECHAT_TOKEN
from tests.bots.platforms import FakeWeChat, wechat_fixture
from tests.conftest import LiveServer
from tests.waiting import eventually

# 1,900 characters, as an operator may write (the console takes 2,000): 5,700 bytes of UTF-8.
ANSWER = "\n".join(
    f"{n}. 关于您反映的阜通东大街{n}号楼垃圾问题，街道环卫所已于今日上午清运完毕，并安排专人每日巡查，"
    f"如再有堆放请随时告知。" for n in range(1, 31)
)


def operator_answers(server: LiveServer, channel: str, text: str) -> None:
    runtime = server.app.state.runtime
    now = datetime.now(UTC)
    with runtime.new_uow() as uow:
        operator = Operator(username=f"op-{channel}", display_name="话务员", password_hash="x", role=Role.OPERATOR)
        uow.session.add(operator)
        conversation = uow.session.scalars(select(Conversation).where(Conversation.channel == channel)).one()
        claim_conversation(uow.session, conversation_id=conversation.id, operator=operator, now=now)
        operator_reply(uow.session, conversation_id=conversation.id, operator=operator, text=text, now=now)
        uow.commit()
    runtime.worker.wake()


def operator_entries(server: LiveServer) -> list[OutboxEntry]:
    with server.app.state.runtime.new_uow() as uow:
        return list(uow.session.scalars(select(OutboxEntry).where(OutboxEntry.kind == "operator")))


def test_wechat_gets_a_long_answer_in_parts_of_2048_bytes(channels_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    stamp, nonce = "1763866800", "n0nce"
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, stamp, nonce])).encode()).hexdigest()
    response = httpx.post(f"{channels_server.url}/wechat", params={"signature": signature, "timestamp": stamp, "nonce": nonce},
                          content=wechat_fixture("text").encode())
    assert response.status_code == 200
    operator_answers(channels_server, "wechat", ANSWER)

    def delivered() -> list[str]:
        texts = [c.params["text"]["content"] for c in fake_wechat.custom_messages()]
        return texts if len(texts) == 3 else []

    parts = eventually(delivered)
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert "\n".join(parts) == ANSWER
    assert {e.status for e in operator_entries(channels_server)} == {OutboxStatus.SENT}

