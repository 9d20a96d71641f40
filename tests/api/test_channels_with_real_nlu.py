"""Both platforms with the trained NLU: a complaint from the first message to its ticket number,
and the next status change back on the same platform."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import xmltodict
from sqlalchemy import select

from bots.telegram import SECRET_HEADER
from handoff.models import Ticket, TicketStatus
from handoff.tickets import Actor, advance_ticket
from tests.bots.platforms import (
    FakeTelegram,
    FakeWeChat,
    telegram_fixture,
    wechat_fixture,
)
from tests.api.conftest import WECHAT_TOKEN
from tests.conftest import LiveServer
from tests.waiting import eventually


def _dispatch(uow_factory, channel: str) -> str:
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.channel == channel)).one()
        advance_ticket(uow.session, ticket=ticket, to_status=TicketStatus.DISPATCHED, actor=Actor("operator", "t"),
                       now=datetime.now(UTC))
        uow.commit()
        return ticket.number


def test_both_platforms_carry_a_complaint_and_its_status(
    channels_server: LiveServer, fake_telegram: FakeTelegram, fake_wechat: FakeWeChat, uow_factory
) -> None:
    response = httpx.post(f"{channels_server.url}/telegram/webhook", json=telegram_fixture("text_message"),
                          headers={SECRET_HEADER: "hook"})
    assert response.status_code == 200
    first = eventually(fake_telegram.sent)[0].params["text"]
    number = _dispatch(uow_factory, "telegram")
    assert number in first
    pushed = eventually(lambda: len(fake_telegram.sent()) >= 2 and fake_telegram.sent())[1].params["text"]
    assert number in pushed

    stamp, nonce = "1763866800", "n0nce"
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, stamp, nonce])).encode()).hexdigest()
    response = httpx.post(f"{channels_server.url}/wechat", params={"signature": signature, "timestamp": stamp, "nonce": nonce},
                          content=wechat_fixture("text").encode())
    passive = xmltodict.parse(response.text)["xml"]["Content"]
    number = _dispatch(uow_factory, "wechat")
    assert number in passive
    [status] = eventually(fake_wechat.custom_messages)
    assert number in status.params["text"]["content"]
