"""WeChat end to end: a real server taking signed (and encrypted) callbacks, passive replies in
the response, and later pushes through wechatpy to the fake WeChat API."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
from sqlalchemy import func, select, update
from wechatpy.crypto import WeChatCrypto

from api.config import Settings
from handoff.models import ChannelIdentity, Message, OutboxEntry, Ticket, TicketStatus
from handoff.tickets import Actor, advance_ticket
from tests.bots.platforms import WECHAT_APP_ID, WECHAT_SECRET, FakeWeChat, wechat_fixture
from tests.conftest import LiveServer
from tests.fakes import FakeNlu

TOKEN = "hotline-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oAbCd1234567890EfGhIjKlMnOpQ"


@pytest.fixture
def server(db_url: str, tmp_path: Path, fake_wechat: FakeWeChat) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False,
        wechat_app_id=WECHAT_APP_ID, wechat_app_secret=WECHAT_SECRET, wechat_token=TOKEN, wechat_aes_key=AES_KEY,
        wechat_api_url=fake_wechat.url, wechat_template_id="TPL-status", channel_timeout=1.0,
    )
    with LiveServer(settings, FakeNlu()) as live:
        yield live


def signed(timestamp: str = "1763866800", nonce: str = "n0nce", **extra: str) -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": OPENID, **extra}


def callback(server: LiveServer, xml: str, query: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{server.url}/wechat", params=query or signed(), content=xml.encode(), timeout=10)


def passive_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    reply = xmltodict.parse(response.text)["xml"]
    assert (reply["ToUserName"], reply["MsgType"]) == (OPENID, "text")
    return str(reply["Content"])


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


def test_server_url_verification(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/wechat", params=signed(echostr="8231")).text == "8231"
    bad = {**signed(echostr="8231"), "signature": "f" * 40}
    assert httpx.get(f"{server.url}/wechat", params=bad).status_code == 403


def test_a_complaint_is_answered_passively_with_its_ticket_number(
    server: LiveServer, fake_wechat: FakeWeChat, uow_factory
) -> None:
    text = passive_text(callback(server, wechat_fixture("text")))
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        entry = uow.session.scalars(select(OutboxEntry)).one()
        assert ticket.channel == "wechat" and ticket.number in text and "1. 我的工单" in text
        assert (entry.status, entry.platform_msg_id) == ("sent", "passive")
    time.sleep(0.3)
    assert fake_wechat.custom_messages() == []  # said once, in the response


def test_wechat_retries_get_the_same_answer_and_no_second_ticket(server: LiveServer, uow_factory) -> None:
    answers = {passive_text(callback(server, wechat_fixture("text"))) for _ in range(3)}
    assert len(answers) == 1
    assert count(uow_factory, Ticket) == 1
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).where(Message.direction == "in")) == 1


def test_event_retries_are_recognised_by_sender_and_time(server: LiveServer, uow_factory) -> None:
    first = passive_text(callback(server, wechat_fixture("subscribe")))
    assert passive_text(callback(server, wechat_fixture("subscribe"))) == first
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).where(Message.direction == "in")) == 1


def test_several_replies_first_passive_then_customer_service(
    server: LiveServer, fake_wechat: FakeWeChat
) -> None:
    xml = wechat_fixture("text").replace("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理", "转人工")
    first = passive_text(callback(server, xml))
    rest = wait_for(fake_wechat.custom_messages)
    assert "人工" in first and len(rest) == 1 and rest[0].params["touser"] == OPENID


def test_encrypted_round_trip(server: LiveServer, uow_factory) -> None:
    platform = WeChatCrypto(TOKEN, AES_KEY, WECHAT_APP_ID)
    encrypted = platform.encrypt_message(wechat_fixture("text"), "n0nce", "1763866800")
    query = signed(encrypt_type="aes", msg_signature=xmltodict.parse(encrypted)["xml"]["MsgSignature"])
    response = callback(server, encrypted, query)
    fields = xmltodict.parse(response.text)["xml"]
    plain = platform.decrypt_message(response.text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
    with uow_factory() as uow:
        number = uow.session.scalars(select(Ticket.number)).one()
    assert number in xmltodict.parse(plain)["xml"]["Content"]


@pytest.mark.parametrize("tamper", ["signature", "msg_signature"])
def test_a_bad_signature_is_403_and_nothing_is_stored(server: LiveServer, uow_factory, tamper: str) -> None:
    platform = WeChatCrypto(TOKEN, AES_KEY, WECHAT_APP_ID)
    encrypted = platform.encrypt_message(wechat_fixture("text"), "n0nce", "1763866800")
    query = signed(encrypt_type="aes", msg_signature=xmltodict.parse(encrypted)["xml"]["MsgSignature"])
    query[tamper] = "0" * 40
    assert callback(server, encrypted, query).status_code == 403
    assert callback(server, wechat_fixture("text"), {**signed(), "signature": "0" * 40}).status_code == 403
    assert count(uow_factory, Message) == 0


@pytest.mark.parametrize("fixture", ["billion_laughs", "xxe"])
def test_xml_bombs_are_refused(server: LiveServer, uow_factory, fixture: str) -> None:
    response = callback(server, wechat_fixture(fixture))
    assert response.status_code == 400 and "DOCTYPE" in response.text
    assert count(uow_factory, Message) == 0


def test_unsubscribe_is_acknowledged_silently(server: LiveServer, uow_factory) -> None:
    passive_text(callback(server, wechat_fixture("subscribe")))
    response = callback(server, wechat_fixture("unsubscribe"))
    assert response.text == "success"
    with uow_factory() as uow:
        assert uow.session.scalars(select(ChannelIdentity.subscribed)).one() is False


def test_status_changes_go_out_as_customer_service_then_template(
    server: LiveServer, fake_wechat: FakeWeChat, uow_factory
) -> None:
    passive_text(callback(server, wechat_fixture("text")))
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
        advance_ticket(uow.session, ticket=ticket, to_status=TicketStatus.DISPATCHED, actor=Actor("operator", "t"),
                       now=datetime.now(UTC))
        uow.commit()
    [pushed] = wait_for(fake_wechat.custom_messages)
    assert ticket.number in pushed.params["text"]["content"]
    with uow_factory() as uow:  # two days without a word from the citizen: the window is shut
        uow.session.execute(update(ChannelIdentity).values(last_inbound_at=datetime.now(UTC) - timedelta(hours=49)))
        ticket = uow.session.scalars(select(Ticket)).one()
        advance_ticket(uow.session, ticket=ticket, to_status=TicketStatus.SIGNED, actor=Actor("unit", "t"),
                       now=datetime.now(UTC))
        uow.commit()
    [template] = wait_for(fake_wechat.templates)
    assert template.params["touser"] == OPENID and ticket.number in template.params["data"]["content"]["value"]
    assert len(fake_wechat.custom_messages()) == 1 and fake_wechat.token_fetches == 1


def test_database_down_is_503_so_wechat_retries(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url="postgresql://nobody@127.0.0.1:9/none", data_dir=tmp_path,
        auto_migrate=False, run_workers=False, wechat_app_id=WECHAT_APP_ID, wechat_token=TOKEN,
    )
    with LiveServer(settings, FakeNlu()) as live:
        assert callback(live, wechat_fixture("text")).status_code == 503
