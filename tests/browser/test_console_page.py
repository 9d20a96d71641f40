"""The operators' console in Chromium: a citizen on the web chat, an operator in the console,
a unit handler signing; citizen text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from handoff.accounts import create_operator
from handoff.models import Role
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

    from sqlalchemy import select

    from handoff.models import Ticket
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
