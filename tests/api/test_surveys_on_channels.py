"""回访 over every channel, through the real adapters: Telegram buttons (inline keyboard callbacks),
WeChat plain text and numbers (passive replies and customer-service messages), web chat buttons."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets.sync.client as ws_client
import xmltodict
from sqlalchemy import select

from bots.telegram import SECRET_HEADER
from handoff.dispatch import dispatch_ticket, report_result, sign
from handoff.models import Operator, Role, Survey, SurveyStatus, Ticket, TicketStatus, Unit
from handoff.surveys import SurveyPolicy, ask_due_surveys
from tests.api.conftest import WECHAT_TOKEN
from tests.bots.platforms import (
    FakeTelegram,
    FakeWeChat,
    telegram_fixture,
    wechat_fixture,
)
from tests.conftest import LiveServer
from tests.waiting import eventually

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
_updates = itertools.count(990001)


def handle_and_ask(server: LiveServer, channel: str) -> str:
    """The unit handles the channel's ticket with both feedbacks; then the callback is asked."""
    runtime = server.app.state.runtime
    now = datetime.now(UTC)
    with runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.channel == channel)).one()
        handler = Operator(username=f"h-{channel}", display_name="h", password_hash="x", role=Role.UNIT_HANDLER)
        uow.session.add(handler)
        unit = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        (assignment,) = dispatch_ticket(uow.session, ticket=ticket, unit_ids=[unit.id], operator=None, now=now)
        sign(uow.session, assignment=assignment, handler=handler, now=now)
        report_result(uow.session, assignment=assignment, handler=handler, result="已清运", citizen_reply="垃圾已清运", now=now)
        uow.commit()
        number = ticket.number
    ask_due_surveys(SurveyPolicy())(runtime.new_uow(), now + timedelta(seconds=1))
    runtime.worker.wake()
    return number


def survey_of(server: LiveServer, number: str) -> tuple[Survey, Ticket]:
    with server.app.state.runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        survey = uow.session.scalars(select(Survey).where(Survey.ticket_id == ticket.id)).one()
        return survey, ticket


def test_telegram_buttons(channels_server: LiveServer, fake_telegram: FakeTelegram) -> None:
    def post(update: dict[str, Any]) -> None:
        response = httpx.post(f"{channels_server.url}/telegram/webhook", json=update, headers={SECRET_HEADER: "hook"})
        assert response.status_code == 200

    def press(data: str) -> None:
        update = telegram_fixture("callback_query", update_id=next(_updates))
        update["callback_query"]["id"] = str(next(_updates))
        update["callback_query"]["data"] = data
        post(update)

    post(telegram_fixture("text_message", update_id=next(_updates)))
    eventually(lambda: fake_telegram.sent())
    number = handle_and_ask(channels_server, "telegram")

    def question_with(button: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for call in fake_telegram.sent():
                markup = call.params.get("reply_markup")
                markup = json.loads(markup) if isinstance(markup, str) else markup
                if markup and any(b.get("callback_data") == button for row in markup["inline_keyboard"] for b in row):
                    return call.params
            return None
        return eventually(find)  # type: ignore[no-any-return]

    assert number in question_with("survey:resolved:yes")["text"]
    press("survey:resolved:yes")
    question_with("survey:sat:满意")
    press("survey:sat:满意")
    eventually(lambda: any("感谢您的评价" in c.params["text"] for c in fake_telegram.sent()))
    survey, ticket = survey_of(channels_server, number)
    assert (survey.status, survey.resolved, survey.satisfaction, ticket.status) == (
        SurveyStatus.ANSWERED, True, "满意", TicketStatus.SURVEYED)


def test_wechat_numbers_and_words(channels_server: LiveServer, fake_wechat: FakeWeChat) -> None:
    def say(text: str, msg_id: int) -> str:
        stamp, nonce = str(1763866800 + msg_id % 1000), "n0nce"
        signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, stamp, nonce])).encode()).hexdigest()
        body = wechat_fixture("text").replace(DEMO, text).replace("24390012345678901", str(msg_id))
        response = httpx.post(f"{channels_server.url}/wechat", params={"signature": signature, "timestamp": stamp, "nonce": nonce},
                              content=body.encode())
        assert response.status_code == 200
        return str(xmltodict.parse(response.text)["xml"]["Content"]) if response.text.startswith("<xml") else ""

    say(DEMO, 1001)
    number = handle_and_ask(channels_server, "wechat")
    asked = eventually(lambda: [c for c in fake_wechat.custom_messages() if "解决了吗" in c.params["text"]["content"]])
    assert number in asked[0].params["text"]["content"] and "1. 已解决" in asked[0].params["text"]["content"]
    satisfaction = say("1", 1002)  # 已解决
    assert "满意吗" in satisfaction and "3. 不满意" in satisfaction
    offer = say("不满意，垃圾还在", 1003)
    assert "二次办理" in offer
    done = say("是", 1004)
    assert "已重新转交" in done
    survey, ticket = survey_of(channels_server, number)
    # 「垃圾还在」 takes back the earlier 「1」(已解决): the citizen's latest word counts.
    assert (survey.resolved, survey.satisfaction, survey.comment, survey.reopened) == (False, "不满意", "垃圾还在", True)
    assert ticket.status == TicketStatus.DISPATCHED  # 二次办理: back with the unit


def test_web_chat_buttons_and_words(channels_server: LiveServer) -> None:
    with ws_client.connect(channels_server.ws_url) as socket:
        socket.send(json.dumps({"type": "hello"}))
        assert json.loads(socket.recv(timeout=10))["type"] == "welcome"
        socket.send(json.dumps({"type": "message", "id": "m1", "text": DEMO}))

        def frames_until(predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
            while True:
                frame = json.loads(socket.recv(timeout=10))
                if predicate(frame):
                    return frame

        frames_until(lambda f: f["type"] == "message" and "工单" in f["message"]["text"])
        number = handle_and_ask(channels_server, "web")
        question = frames_until(lambda f: f["type"] == "message" and f["message"]["kind"] == "survey")["message"]
        assert [b["payload"] for b in question["buttons"]] == ["survey:resolved:yes", "survey:resolved:no"]
        socket.send(json.dumps({"type": "button", "id": "m2", "payload": "survey:resolved:no"}))
        frames_until(lambda f: f["type"] == "message" and "满意吗" in f["message"]["text"])
        socket.send(json.dumps({"type": "message", "id": "m3", "text": "基本满意吧"}))
        frames_until(lambda f: f["type"] == "message" and "二次办理" in f["message"]["text"])
        socket.send(json.dumps({"type": "message", "id": "m4", "text": "不用了"}))
        frames_until(lambda f: f["type"] == "message" and "感谢您的评价" in f["message"]["text"])
    survey, ticket = survey_of(channels_server, number)
    assert (survey.resolved, survey.satisfaction, survey.reopened, ticket.status) == (False, "基本满意", False, TicketStatus.SURVEYED)
