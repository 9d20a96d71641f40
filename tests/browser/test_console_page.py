"""The operators' console in Chromium: a citizen on the web chat, an operator in the console,
a unit handler signing; citizen text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from handoff.accounts import create_operator
from handoff.dispatch import dispatch_ticket, remind, sign
from handoff.models import Operator, Role, Ticket, TicketAssignment, Unit
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
ATTACK = '朝阳区望京街道阜通东大街6号楼下垃圾堆了三天<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture
def accounts(live_server: LiveServer) -> None:
    with live_server.app.state.runtime.new_uow() as uow:
        now = datetime.now(UTC)
        create_operator(uow.session, username="op", display_name="话务员", password=PASSWORD, role=Role.OPERATOR, now=now)
        create_operator(uow.session, username="wj", display_name="望京街道", password=PASSWORD, role=Role.UNIT_HANDLER,
                        unit_code="110105026", now=now)
        uow.commit()


@pytest.fixture
def pages(browser: Any, live_server: LiveServer, accounts: None) -> Iterator[tuple[Any, Any]]:
    citizen_context, operator_context = browser.new_context(locale="zh-CN"), browser.new_context(locale="zh-CN")
    citizen, operator = citizen_context.new_page(), operator_context.new_page()
    for page in (citizen, operator):
        page.set_default_timeout(15000)
    citizen.goto(live_server.url + "/")
    citizen.get_by_role("status").filter(has_text="在线").wait_for()
    yield citizen, operator
    citizen_context.close()
    operator_context.close()


def _log_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/console")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出").wait_for()


def test_an_operator_takes_a_chat_and_talks_with_the_citizen(pages: tuple[Any, Any], live_server: LiveServer) -> None:
    citizen, operator = pages
    citizen.get_by_label("输入消息").fill(ATTACK)
    citizen.get_by_label("输入消息").press("Enter")
    citizen.locator(".ticket-number").first.wait_for()

    _log_in(operator, live_server.url, "op")
    operator.locator("#queue-list .item").first.click()
    operator.get_by_role("button", name="接入会话").click()
    bubble = operator.locator(".messages li.citizen").first
    bubble.wait_for()
    assert ATTACK in bubble.inner_text()  # shown as text
    assert operator.locator(".messages img, .messages script").count() == 0
    assert operator.evaluate("window.__pwned") is None

    operator.get_by_label("回复市民").fill("/where")
    operator.get_by_label("回复市民").press("Tab")  # the canned reply expands
    assert "具体位置" in operator.get_by_label("回复市民").input_value()
    operator.get_by_label("回复市民").fill("您好，我是话务员，请问是几单元门口？")
    operator.get_by_label("回复市民").press("Control+Enter")
    citizen.get_by_text("请问是几单元门口").wait_for()

    citizen.get_by_label("输入消息").fill("3单元门口")
    citizen.get_by_label("输入消息").press("Enter")
    operator.locator(".messages li.citizen", has_text="3单元门口").wait_for()  # live, no reload


def test_an_operator_dispatches_and_the_unit_signs(pages: tuple[Any, Any], browser: Any, live_server: LiveServer) -> None:
    citizen, operator = pages
    citizen.get_by_label("输入消息").fill("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理")
    citizen.get_by_label("输入消息").press("Enter")
    number = citizen.locator(".ticket-number").first
    number.wait_for()
    ticket_number = number.inner_text()

    _log_in(operator, live_server.url, "op")
    operator.locator("#queue-list .item").first.click()
    operator.get_by_role("button", name="确认识别结果").click()
    operator.get_by_role("button", name="派单", exact=True).click()
    operator.get_by_text("已派至").first.wait_for()
    citizen.get_by_text("已派单").first.wait_for()  # the citizen hears of it on their channel

    unit_context = browser.new_context(locale="zh-CN")
    unit = unit_context.new_page()
    unit.set_default_timeout(15000)
    _log_in(unit, live_server.url, "wj")
    row = unit.locator(f'tr[data-number="{ticket_number}"]')
    row.wait_for()
    row.get_by_role("button", name="签收").click()
    citizen.get_by_text("承办单位已签收").first.wait_for()
    unit_context.close()


def test_one_ticket_through_its_whole_life_in_three_browsers(pages: tuple[Any, Any], browser: Any, live_server: LiveServer) -> None:
    from datetime import timedelta

    from handoff.surveys import SurveyPolicy, ask_due_surveys

    citizen, operator = pages
    citizen.get_by_label("输入消息").fill("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理")
    citizen.get_by_label("输入消息").press("Enter")
    number = citizen.locator(".ticket-number").first
    number.wait_for()
    ticket_number = number.inner_text()

    _log_in(operator, live_server.url, "op")  # the operator takes the chat and talks with the citizen
    operator.locator("#queue-list .item").first.click()
    operator.get_by_role("button", name="接入会话").click()
    operator.get_by_label("回复市民").fill("您好，已收到，马上为您派给望京街道。")
    operator.get_by_label("回复市民").press("Control+Enter")
    citizen.get_by_text("马上为您派给望京街道").wait_for()
    operator.get_by_role("button", name="确认识别结果").click()
    operator.get_by_role("button", name="派单", exact=True).click()
    citizen.get_by_text("已派单").first.wait_for()

    unit_context = browser.new_context(locale="zh-CN")  # the unit signs, reports progress and the result
    unit = unit_context.new_page()
    unit.set_default_timeout(15000)
    _log_in(unit, live_server.url, "wj")
    row = unit.locator(f'tr[data-number="{ticket_number}"]')
    row.get_by_role("button", name="签收").click()
    citizen.get_by_text("承办单位已签收").first.wait_for()
    row.get_by_label("说明").fill("环卫队已到现场清运")
    row.get_by_role("button", name="报进展").click()
    citizen.get_by_text("环卫队已到现场清运").first.wait_for()
    row.get_by_label("说明").fill("垃圾已清运，已安排每日巡查")
    row.get_by_label("给市民的答复").fill("您反映的垃圾已清运完毕，感谢监督")
    row.get_by_role("button", name="办结").click()
    citizen.get_by_text("您反映的垃圾已清运完毕，感谢监督").first.wait_for()
    citizen.get_by_text("已办结").first.wait_for()
    unit_context.close()

    runtime = live_server.app.state.runtime  # the timers ask the callback; the citizen answers with buttons
    ask_due_surveys(SurveyPolicy())(runtime.new_uow(), datetime.now(UTC) + timedelta(seconds=1))
    runtime.worker.wake()
    citizen.get_by_role("button", name="已解决").click()
    citizen.get_by_role("button", name="满意", exact=True).click()
    citizen.get_by_text("感谢您的评价").wait_for()
    with runtime.new_uow() as uow:
        assert uow.session.scalars(select(Ticket.status).where(Ticket.number == ticket_number)).one() == "surveyed"


# -- the unit's table redrawn by a live change while the handler works in it -----------------------


@pytest.fixture
def signed(pages: tuple[Any, Any], live_server: LiveServer) -> str:
    """The citizen's ticket, dispatched to 望京街道 and signed there; its number."""
    citizen, _ = pages
    citizen.get_by_label("输入消息").fill("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理")
    citizen.get_by_label("输入消息").press("Enter")
    citizen.locator(".ticket-number").first.wait_for()
    number: str = citizen.locator(".ticket-number").first.inner_text()
    with live_server.app.state.runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        unit = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        handler = uow.session.scalars(select(Operator).where(Operator.username == "wj")).one()
        now = datetime.now(UTC)
        assignments = dispatch_ticket(uow.session, ticket=ticket, unit_ids=[unit.id], operator=None, now=now)
        sign(uow.session, assignment=assignments[0], handler=handler, now=now)
        uow.session.add(Operator(username="boss", display_name="督办", password_hash="x", role=Role.SUPERVISOR))
        uow.commit()
    return number


@pytest.fixture
def unit_page(browser: Any, live_server: LiveServer, signed: str) -> Iterator[Any]:
    """望京街道's handler, logged in, the signed ticket in their table."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    _log_in(page, live_server.url, "wj")
    page.locator(f'tr[data-number="{signed}"]').get_by_text("已签收").wait_for()
    yield page
    context.close()


def _remind(live_server: LiveServer, number: str) -> None:
    """A supervisor's 督办: a live change, and the unit's table is redrawn (the row shows 督办N次)."""
    with live_server.app.state.runtime.new_uow() as uow:
        ticket_id = select(Ticket.id).where(Ticket.number == number).scalar_subquery()
        assignment = uow.session.scalars(
            select(TicketAssignment).where(TicketAssignment.ticket_id == ticket_id)
        ).one()
        boss = uow.session.scalars(select(Operator).where(Operator.username == "boss")).one()
        remind(uow.session, assignment=assignment, supervisor=boss, note=None, now=datetime.now(UTC))
        uow.commit()


def test_what_the_unit_is_typing_survives_a_live_refresh(
    unit_page: Any, signed: str, live_server: LiveServer
) -> None:
    row = unit_page.locator(f'tr[data-number="{signed}"]')
    row.get_by_label("说明").click()
    unit_page.keyboard.type("垃圾已清运，")
    _remind(live_server, signed)
    row.get_by_text("督办1次").wait_for()  # redrawn while the handler types
    unit_page.keyboard.type("已安排每日巡查")  # still in the field
    assert row.get_by_label("说明").input_value() == "垃圾已清运，已安排每日巡查"


def test_a_live_refresh_while_the_unit_presses_close_does_not_lose_the_click(
    pages: tuple[Any, Any], unit_page: Any, signed: str, live_server: LiveServer
) -> None:
    citizen, _ = pages
    row = unit_page.locator(f'tr[data-number="{signed}"]')
    row.get_by_label("说明").fill("垃圾已清运，已安排每日巡查")
    row.get_by_label("给市民的答复").fill("您反映的垃圾已清运完毕，感谢监督")
    row.get_by_role("button", name="办结").hover()
    unit_page.mouse.down()  # the handler presses 办结,
    _remind(live_server, signed)
    row.get_by_text("督办1次").wait_for()  # the table is redrawn,
    unit_page.mouse.up()  # and they let go
    citizen.get_by_text("您反映的垃圾已清运完毕，感谢监督").first.wait_for()
    row.wait_for(state="detached")  # done: off the unit's list
    with live_server.app.state.runtime.new_uow() as uow:
        assert uow.session.scalars(select(Ticket.status).where(Ticket.number == signed)).one() == "resolved"


def test_an_answer_overtaken_by_a_newer_one_is_not_drawn(
    unit_page: Any, signed: str, live_server: LiveServer
) -> None:
    held: list[tuple[Any, Any]] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # read now, answered late

    unit_page.route("**/api/my/assignments", hold_the_first)
    _remind(live_server, signed)
    while not held:  # the sync API runs the route's handler only inside a call to Playwright
        unit_page.wait_for_timeout(20)
    _remind(live_server, signed)
    row = unit_page.locator(f'tr[data-number="{signed}"]')
    row.get_by_text("督办2次").wait_for()
    route, stale = held[0]
    with unit_page.expect_response("**/api/my/assignments") as answered:
        route.fulfill(response=stale)
    answered.value.finished()
    unit_page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # time to draw it, were it drawn
    assert row.get_by_text("督办2次").count() == 1  # not back to 督办1次
