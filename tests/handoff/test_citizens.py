"""One person on two platforms: found by the phone number they gave, linked when an operator
confirms, and then every ticket shows on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from handoff.citizens import LinkRefusedError, find_link_candidates, link_citizens
from handoff.intake import handle_inbound
from handoff.messages import ChannelName, InboundMessage
from handoff.models import ChannelIdentity, CitizenLink, Ticket
from tests.fakes import FakeNlu

COMPLAINT = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理，电话{phone}"


def say(uow_factory, channel: ChannelName, user: str, text: str, n: int) -> str:
    msg = InboundMessage(
        channel=channel, channel_user_id=user, chat_id=user, platform_msg_id=f"{user}:{n}",
        received_at=datetime.now(UTC), text=text,
    )
    result = handle_inbound(uow_factory(), nlu=FakeNlu(), msg=msg)
    return "\n".join(r.text for r in result.replies)


def citizen_of(uow_factory, channel: str, user: str):  # type: ignore[no-untyped-def]
    with uow_factory() as uow:
        return uow.session.scalars(
            select(ChannelIdentity.citizen_id).where(
                ChannelIdentity.channel == channel, ChannelIdentity.channel_user_id == user
            )
        ).one()


def test_same_phone_on_two_platforms_is_linked_and_tickets_show_on_both(uow_factory) -> None:
    say(uow_factory, "telegram", "424242", COMPLAINT.format(phone="13912345678"), 1)
    say(uow_factory, "wechat", "oAbC", COMPLAINT.format(phone="+8613912345678"), 1)
    say(uow_factory, "wechat", "oOther", COMPLAINT.format(phone="13800000000"), 1)
    with uow_factory() as uow:
        [candidate] = find_link_candidates(uow.session)
    assert candidate.phone_masked == "139****5678"
    assert [c.channels for c in candidate.citizens] == [("telegram",), ("wechat",)]
    keep, merge = candidate.citizens[0].id, candidate.citizens[1].id

    link = link_citizens(uow_factory(), keep=keep, merge=merge, operator="op-li")
    assert link.moved == {"identities": 1, "conversations": 1, "tickets": 1}
    assert citizen_of(uow_factory, "wechat", "oAbC") == keep
    with uow_factory() as uow:
        numbers = set(uow.session.scalars(select(Ticket.number).where(Ticket.citizen_id == keep)))
        assert len(numbers) == 2 and uow.session.scalars(select(CitizenLink)).one().operator == "op-li"
        assert find_link_candidates(uow.session) == []
    for channel, user in (("telegram", "424242"), ("wechat", "oAbC")):
        answer = say(uow_factory, channel, user, "我的工单", 2)
        assert all(number in answer for number in numbers)


def test_records_without_a_common_phone_are_not_linked(uow_factory) -> None:
    say(uow_factory, "telegram", "1", COMPLAINT.format(phone="13912345678"), 1)
    say(uow_factory, "wechat", "o2", COMPLAINT.format(phone="13800000000"), 1)
    a, b = citizen_of(uow_factory, "telegram", "1"), citizen_of(uow_factory, "wechat", "o2")
    with pytest.raises(LinkRefusedError):
        link_citizens(uow_factory(), keep=a, merge=b, operator="op")
    with pytest.raises(LinkRefusedError):
        link_citizens(uow_factory(), keep=a, merge=a, operator="op")


def test_the_citizen_commands(uow_factory, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    say(uow_factory, "telegram", "424242", COMPLAINT.format(phone="13912345678"), 1)
    say(uow_factory, "wechat", "oAbC", COMPLAINT.format(phone="13912345678"), 1)
    runner = CliRunner()
    listed = runner.invoke(app, ["citizen", "links"])
    assert listed.exit_code == 0 and "139****5678" in listed.output and "13912345678" not in listed.output
    keep, merge = str(citizen_of(uow_factory, "telegram", "424242")), str(citizen_of(uow_factory, "wechat", "oAbC"))
    linked = runner.invoke(app, ["citizen", "link", keep, merge, "--operator", "op-li"])
    assert linked.exit_code == 0 and "1 tickets moved" in linked.output
