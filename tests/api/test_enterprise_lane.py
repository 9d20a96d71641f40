"""企业热线: businesses are recognised (or come through the businesses' entry), answered from their own
knowledge base, and queued for the operators who serve businesses."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.config import Settings
from api.main import create_app
from bots.web import WebChatChannel, read_frame
from handoff.accounts import create_operator
from handoff.intake import handle_inbound
from handoff.messages import InboundMessage, InboundResult
from handoff.models import Conversation, Role, Ticket
from tests.api.test_console import PASSWORD, Console

_ids = itertools.count(1)


@pytest.fixture
def client(db_url: str, tmp_path: Path, real_nlu: object) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, data_dir=tmp_path, auto_migrate=False, run_workers=False, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, nlu=real_nlu)) as client:  # type: ignore[arg-type]
        with client.app.state.runtime.new_uow() as uow:  # type: ignore[attr-defined]
            now = datetime.now(UTC)
            create_operator(uow.session, username="op1", display_name="话务员", password=PASSWORD, role=Role.OPERATOR, now=now)
            create_operator(uow.session, username="biz", display_name="企业服务专席", password=PASSWORD, role=Role.OPERATOR,
                            lanes="enterprise", now=now)
            uow.commit()
        yield client


def say(client: TestClient, text: str = "", user: str = "boss-li", **extra: Any) -> InboundResult:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    message = InboundMessage(channel="web", channel_user_id=user, chat_id=user, platform_msg_id=f"e{next(_ids)}",
                             received_at=datetime.now(UTC), text=text, **extra)
    return handle_inbound(runtime.new_uow(), nlu=runtime.nlu, msg=message)


def test_a_business_asking_is_answered_from_the_enterprise_knowledge_base(client: TestClient) -> None:
    reply = say(client, "我司想问一下怎么开发票").replies[0].text
    assert "数电发票" in reply and "国家税务总局北京市税务局" in reply
    citizen = say(client, "居住证怎么办理", user="resident").replies[0].text
    assert "居住证" in citizen and "税务" not in citizen


def test_a_business_matter_becomes_an_enterprise_ticket_for_the_business_desk(client: TestClient) -> None:
    result = say(client, "北京望京云帆科技有限公司，统一社会信用代码91110105MA01ABCD26，我们申请的稳岗返还一直没有到账")
    assert result.ticket_number is not None  # no street needed: the business desk follows up
    with client.app.state.runtime.new_uow() as uow:  # type: ignore[attr-defined]
        ticket = uow.session.scalars(select(Ticket)).one()
        assert (ticket.lane, ticket.credit_code) == ("enterprise", "91110105MA01ABCD26")
    say(client, "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理", user="resident")

    general, business = Console(client, "op1"), Console(client, "biz")
    general_queue = general.get("/api/queue").json()["items"]
    business_queue = business.get("/api/queue").json()["items"]
    assert [i["lane"] for i in general_queue] == ["citizen"]
    assert [(i["lane"], i["ticket_number"]) for i in business_queue] == [("enterprise", result.ticket_number)]
    conversation_id = business_queue[0]["conversation_id"]
    general.post(f"/api/conversations/{conversation_id}/claim", expect=403)
    business.post(f"/api/conversations/{conversation_id}/claim")


def test_the_web_chats_business_entry(client: TestClient) -> None:
    channel = WebChatChannel()
    frame = read_frame('{"type": "entry", "id": "x1", "entry": "enterprise"}')
    entry = channel.to_inbound(frame, chat_id="browser-1")
    welcome = handle_inbound(client.app.state.runtime.new_uow(), nlu=client.app.state.runtime.nlu, msg=entry)  # type: ignore[attr-defined]
    assert "企业服务热线" in welcome.replies[0].text
    # Without naming a company, a question through the entry is answered from the businesses' section.
    reply = say(client, "营业执照变更怎么办理", user="browser-1").replies[0].text
    assert "30日内申请变更登记" in reply
    with client.app.state.runtime.new_uow() as uow:  # type: ignore[attr-defined]
        assert uow.session.scalars(select(Conversation.lane)).one() == "enterprise"
