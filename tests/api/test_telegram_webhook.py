"""Telegram end to end: a real server with the webhook, python-telegram-bot sending to the fake
Bot API, the delivery worker in between; and polling mode on the same path."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.config import Settings
from bots.telegram import SECRET_HEADER
from handoff.models import Message, Ticket, TicketStatus
from handoff.tickets import Actor, advance_ticket
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram, telegram_fixture
from tests.conftest import LiveServer
from tests.fakes import FakeNlu

SECRET = "hook-secret_123"


@pytest.fixture
def server(db_url: str, tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False,
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET, telegram_api_url=fake_telegram.url,
        channel_timeout=1.0,
    )
    with LiveServer(settings, FakeNlu()) as live:
        yield live


def post(server: LiveServer, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return httpx.post(f"{server.url}/telegram/webhook", json=update, headers=headers, timeout=10)


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def count(uow_factory, model: type) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_complaint_gets_its_ticket_number_back(server: LiveServer, fake_telegram: FakeTelegram, uow_factory) -> None:
    assert post(server, telegram_fixture("text_message")).status_code == 200
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert (ticket.channel, ticket.chat_id, ticket.street) == ("telegram", "424242", "望京街道")
    sent = wait_for(fake_telegram.sent)
    assert ticket.number in sent[0].params["text"]
    assert sent[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "status"


def test_a_redelivered_update_changes_nothing(server: LiveServer, fake_telegram: FakeTelegram, uow_factory) -> None:
    for _ in range(3):
        assert post(server, telegram_fixture("text_message")).status_code == 200
    wait_for(fake_telegram.sent)
    time.sleep(0.5)
    assert count(uow_factory, Ticket) == 1 and len(fake_telegram.sent()) == 1
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).where(Message.direction == "in")) == 1


def test_a_button_press_is_answered_and_acted_on(server: LiveServer, fake_telegram: FakeTelegram) -> None:
    assert post(server, telegram_fixture("callback_query")).status_code == 200
    assert [c.params["callback_query_id"] for c in fake_telegram.calls_to("answerCallbackQuery")] == [
        "4382bfdwdsb323b2d9"
    ]
    texts = [c.params["text"] for c in wait_for(lambda: len(fake_telegram.sent()) >= 2 and fake_telegram.sent())]
    assert any("人工" in t for t in texts)


def test_a_shared_location_lands_on_the_ticket(server: LiveServer, fake_telegram: FakeTelegram, uow_factory) -> None:
    post(server, telegram_fixture("text_message", message={**telegram_fixture("text_message")["message"],
                                                           "text": "楼下垃圾堆了三天没人清理"}))
    post(server, telegram_fixture("location"))
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        assert (ticket.latitude, ticket.longitude) == (pytest.approx(39.996812), pytest.approx(116.470231))


def test_a_photo_is_kept_as_an_attachment(server: LiveServer, uow_factory) -> None:
    post(server, telegram_fixture("photo"))
    with uow_factory() as uow:
        message = uow.session.scalars(select(Message).where(Message.direction == "in")).one()
        assert message.payload is not None
        assert message.payload["attachments"] == [{"kind": "image", "file_id": "AgACAgUAAxkBAAIBlarge", "url": None}]


def test_status_changes_are_pushed_back(server: LiveServer, fake_telegram: FakeTelegram, uow_factory) -> None:
    post(server, telegram_fixture("text_message"))
    wait_for(fake_telegram.sent)
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        advance_ticket(uow.session, ticket=ticket, to_status=TicketStatus.DISPATCHED, actor=Actor("operator", "t"),
                       now=datetime.now(UTC))
        uow.commit()
    pushed = wait_for(lambda: len(fake_telegram.sent()) >= 2 and fake_telegram.sent())
    assert ticket.number in pushed[1].params["text"] and "派单" in pushed[1].params["text"]


@pytest.mark.parametrize("secret", [None, "wrong"])
def test_without_the_secret_token_401_and_nothing_stored(server: LiveServer, uow_factory, secret: str | None) -> None:
    assert post(server, telegram_fixture("text_message"), secret=secret).status_code == 401
    assert count(uow_factory, Message) == 0


def test_a_malformed_body_is_a_clear_400(server: LiveServer, uow_factory) -> None:
    response = httpx.post(f"{server.url}/telegram/webhook", content=b"{oops", headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400 and response.json()["error"] == "malformed_update"
    response = post(server, {"update_id": 5, "message": {"text": "no chat, no sender"}})
    assert response.status_code == 400
    assert count(uow_factory, Message) == 0


def test_a_refused_message_is_answered_in_the_webhook_response(server: LiveServer, uow_factory) -> None:
    update = telegram_fixture("text_message")
    update["message"] = {**update["message"], "text": "很长" * 1500}
    answer = post(server, update).json()
    assert answer["method"] == "sendMessage" and answer["chat_id"] == "424242" and "过长" in answer["text"]
    assert count(uow_factory, Message) == 0


def test_database_down_is_503_so_telegram_retries(tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url="postgresql://nobody@127.0.0.1:9/none", data_dir=tmp_path,
        auto_migrate=False, run_workers=False, telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET,
        telegram_api_url=fake_telegram.url,
    )
    with LiveServer(settings, FakeNlu()) as live:
        assert post(live, telegram_fixture("text_message")).status_code == 503


async def test_polling_takes_the_same_path(db_url: str, tmp_path: Path, fake_telegram: FakeTelegram, uow_factory) -> None:
    from api.main import _build_runtime
    from api.telegram_polling import poll_once

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False,
        telegram_token=TELEGRAM_TOKEN, telegram_api_url=fake_telegram.url, channel_timeout=1.0,
    )
    runtime = _build_runtime(settings, FakeNlu())
    assert runtime.telegram is not None
    fake_telegram.updates.extend([telegram_fixture("text_message"), telegram_fixture("start_command")])
    offset = await poll_once(runtime, runtime.telegram, None, wait=0)
    assert offset == 880003
    fake_telegram.updates.append(telegram_fixture("text_message"))  # read again after a crash: harmless
    await poll_once(runtime, runtime.telegram, 880001, wait=0)
    await runtime.worker.deliver_due()
    await runtime.telegram.close()
    runtime.engine.dispose()
    assert count(uow_factory, Ticket) == 1
    assert len(fake_telegram.sent()) == 2  # the ticket number and the welcome


def test_operator_replies_reach_the_chat_too(server: LiveServer, fake_telegram: FakeTelegram, uow_factory) -> None:
    from handoff import outbox
    from handoff.messages import Reply
    from handoff.models import Conversation

    post(server, telegram_fixture("text_message"))
    wait_for(fake_telegram.sent)
    with uow_factory() as uow:
        conversation = uow.session.scalars(select(Conversation)).one()
        outbox.enqueue(uow.session, conversation=conversation, reply=Reply("您好，我是接线员小王。"), kind="operator",
                       now=datetime.now(UTC), sender="operator")
        uow.commit()
    pushed = wait_for(lambda: len(fake_telegram.sent()) >= 2 and fake_telegram.sent())
    assert pushed[1].params["text"] == "您好，我是接线员小王。" and int(pushed[1].params["chat_id"]) == 424242


def test_set_webhook_registers_the_public_url_and_secret(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    for key, value in {
        "HOTLINE_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "HOTLINE_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "HOTLINE_TELEGRAM_API_URL": fake_telegram.url, "HOTLINE_PUBLIC_URL": "https://hotline.example.gov.cn/",
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    [call] = fake_telegram.calls_to("setWebhook")
    assert call.params["url"] == "https://hotline.example.gov.cn/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
