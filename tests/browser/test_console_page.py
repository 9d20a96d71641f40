"""The operators' console in Chromium: a citizen on the web chat, an operator in the console,
a unit handler signing; citizen text shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff.accounts import create_operator
from handoff.dispatch import dispatch_ticket, remind, sign
from handoff.models import Operator, Role, Ticket, TicketAssignment, Unit
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"
GARBAGE = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
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


@contextmanager
def _console(browser: Any, url: str, username: str) -> Iterator[Any]:
    """A browser of its own for `username`, logged in to the console; closed after the block."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    _log_in(page, url, username)
    try:
        yield page
    finally:
        context.close()


def _file_ticket(citizen: Any, words: str) -> str:
    """The citizen reports a matter on the web chat; the number of the ticket it opens."""
    citizen.get_by_label("输入消息").fill(words)
    citizen.get_by_label("输入消息").press("Enter")
    citizen.locator(".ticket-number").first.wait_for()
    number: str = citizen.locator(".ticket-number").first.inner_text()
    return number


class _Late:
    """The first answer to a GET of `url` from now on is read at once but given to the page only by
    `answer()`, once newer ones were drawn: an answer overtaken by a newer one."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.held: list[tuple[Any, Any]] = []
        page.route(url, self._hold_the_first)

    def _hold_the_first(self, route: Any) -> None:
        if self.held or route.request.method != "GET":
            route.continue_()
        else:
            self.held.append((route, route.fetch()))  # read now, answered late

    def wait_until_held(self) -> None:
        while not self.held:  # the sync API runs the route's handler only inside a call to Playwright
            self.page.wait_for_timeout(20)

    def answer(self) -> None:
        route, stale = self.held[0]
        with self.page.expect_response(lambda response: response.request == route.request) as answered:
            route.fulfill(response=stale)
        answered.value.finished()
        self.page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # time to draw it, if drawn


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

    with _console(browser, live_server.url, "wj") as unit:
        row = unit.locator(f'tr[data-number="{ticket_number}"]')
        row.wait_for()
        row.get_by_role("button", name="签收").click()
        citizen.get_by_text("承办单位已签收").first.wait_for()


def test_one_ticket_through_its_whole_life_in_three_browsers(pages: tuple[Any, Any], browser: Any, live_server: LiveServer) -> None:
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

    with _console(browser, live_server.url, "wj") as unit:  # the unit signs, reports progress and the result
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
    return _dispatched_to_wangjing(pages, live_server, ago=timedelta(0), signed_by="wj")


def _dispatched_to_wangjing(
    pages: tuple[Any, Any], live_server: LiveServer, *, ago: timedelta, signed_by: str | None = None
) -> str:
    """The citizen's ticket, dispatched to 望京街道 `ago` and signed there by `signed_by` if given,
    and a supervisor, 督办 (boss); the ticket's number."""
    citizen, _ = pages
    number = _file_ticket(citizen, GARBAGE)
    with live_server.app.state.runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == number)).one()
        unit = uow.session.scalars(select(Unit).where(Unit.code == "110105026")).one()
        now = datetime.now(UTC)
        assignments = dispatch_ticket(uow.session, ticket=ticket, unit_ids=[unit.id], operator=None, now=now - ago)
        if signed_by is not None:
            handler = uow.session.scalars(select(Operator).where(Operator.username == signed_by)).one()
            sign(uow.session, assignment=assignments[0], handler=handler, now=now)
        create_operator(
            uow.session, username="boss", display_name="督办", password=PASSWORD, role=Role.SUPERVISOR, now=now
        )
        uow.commit()
    return number


@pytest.fixture
def unit_page(browser: Any, live_server: LiveServer, signed: str) -> Iterator[Any]:
    """望京街道's handler, logged in, the signed ticket in their table."""
    with _console(browser, live_server.url, "wj") as page:
        page.locator(f'tr[data-number="{signed}"]').get_by_text("已签收").wait_for()
        yield page


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
    late = _Late(unit_page, "**/api/my/assignments")
    _remind(live_server, signed)
    late.wait_until_held()
    _remind(live_server, signed)
    row = unit_page.locator(f'tr[data-number="{signed}"]')
    row.get_by_text("督办2次").wait_for()
    late.answer()
    assert row.get_by_text("督办2次").count() == 1  # not back to 督办1次


# -- the operators' queue, chat and ticket redrawn by live changes while the operator works in them --


@pytest.fixture
def queued(pages: tuple[Any, Any], live_server: LiveServer) -> str:
    """The citizen's ticket, waiting in the queue with their chat, and the operator logged in; its number."""
    citizen, operator = pages
    number = _file_ticket(citizen, GARBAGE)
    _log_in(operator, live_server.url, "op")
    operator.locator("#queue-list .item", has_text=number).wait_for()
    return number


def _citizen_adds(pages: tuple[Any, Any], words: str) -> None:
    """The waiting citizen writes again: a live change, and the operator's queue (the item's preview)
    and ticket (its timeline) are redrawn."""
    citizen, _ = pages
    citizen.get_by_label("输入消息").fill(words)
    citizen.get_by_label("输入消息").press("Enter")


def _open(operator: Any, number: str) -> None:
    operator.locator("#queue-list .item", has_text=number).click()
    operator.locator("#ticket-body .number", has_text=number).wait_for()


def _ticket_status(live_server: LiveServer, number: str) -> str:
    with live_server.app.state.runtime.new_uow() as uow:
        status: str = uow.session.scalars(select(Ticket.status).where(Ticket.number == number)).one()
        return status


def test_a_live_refresh_while_the_operator_presses_a_queue_item_does_not_lose_the_click(
    pages: tuple[Any, Any], queued: str
) -> None:
    _, operator = pages
    item = operator.locator("#queue-list .item", has_text=queued)
    item.hover()
    operator.mouse.down()  # the operator presses on the waiting citizen,
    _citizen_adds(pages, "垃圾就在3单元门口")
    item.locator(".preview", has_text="垃圾就在3单元门口").wait_for()  # the queue is redrawn,
    operator.mouse.up()  # and they let go: the chat opens
    operator.get_by_role("button", name="接入会话").wait_for()
    operator.locator("#ticket-body .number", has_text=queued).wait_for()


def test_a_queue_item_keeps_the_keyboard_focus_across_a_live_refresh(
    pages: tuple[Any, Any], queued: str
) -> None:
    _, operator = pages
    item = operator.locator("#queue-list .item", has_text=queued)
    item.focus()  # the operator goes down the queue with the keyboard,
    _citizen_adds(pages, "垃圾就在3单元门口")
    item.locator(".preview", has_text="垃圾就在3单元门口").wait_for()  # the queue is redrawn,
    operator.keyboard.press("Enter")  # and Enter opens the item they are on
    operator.get_by_role("button", name="接入会话").wait_for()


def test_a_queue_answer_overtaken_by_a_newer_one_is_not_drawn(pages: tuple[Any, Any], queued: str) -> None:
    _, operator = pages
    late = _Late(operator, "**/api/queue")
    _citizen_adds(pages, "垃圾就在3单元门口")
    late.wait_until_held()
    _citizen_adds(pages, "现在又多了两袋")
    preview = operator.locator("#queue-list .item", has_text=queued).locator(".preview")
    preview.filter(has_text="现在又多了两袋").wait_for()
    late.answer()
    assert preview.inner_text() == "现在又多了两袋"  # not back to the citizen's earlier words


def test_what_the_operator_corrects_on_a_ticket_survives_a_live_refresh(
    pages: tuple[Any, Any], queued: str, live_server: LiveServer
) -> None:
    _, operator = pages
    _open(operator, queued)
    operator.get_by_label("诉求类型").select_option("求助")
    address = operator.get_by_label("地址", exact=True)
    address.click()
    operator.keyboard.press("Control+A")
    operator.keyboard.type("阜通东大街6号楼")
    _citizen_adds(pages, "垃圾就在3单元门口")
    operator.locator("#ticket-body .timeline li", has_text="垃圾就在3单元门口").wait_for()  # redrawn while they type
    operator.keyboard.type("3单元门口")  # still in the field
    assert address.input_value() == "阜通东大街6号楼3单元门口"
    operator.get_by_role("button", name="确认识别结果").click()
    operator.get_by_role("button", name="保存修改").wait_for()
    with live_server.app.state.runtime.new_uow() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.number == queued)).one()
        assert (ticket.address, ticket.request_type) == ("阜通东大街6号楼3单元门口", "求助")


def test_a_live_refresh_while_the_operator_presses_dispatch_does_not_lose_the_click(
    pages: tuple[Any, Any], queued: str, live_server: LiveServer
) -> None:
    _, operator = pages
    _open(operator, queued)
    operator.get_by_role("button", name="派单", exact=True).hover()
    operator.mouse.down()  # the operator presses 派单,
    _citizen_adds(pages, "垃圾就在3单元门口")
    operator.locator("#ticket-body .timeline li", has_text="垃圾就在3单元门口").wait_for()  # the ticket is redrawn,
    operator.mouse.up()  # and they let go
    operator.locator("#ticket-body .badge", has_text="已派单").wait_for()
    assert _ticket_status(live_server, queued) == "dispatched"


def test_the_units_the_operator_chose_survive_a_live_refresh(
    pages: tuple[Any, Any], queued: str, live_server: LiveServer
) -> None:
    _, operator = pages
    _open(operator, queued)
    units = operator.locator("#ticket-body .units input")
    assert units.count() >= 2
    units.nth(0).uncheck()  # not the first suggestion, the second
    units.nth(1).check()
    chosen = units.nth(1).get_attribute("value")
    _citizen_adds(pages, "垃圾就在3单元门口")
    operator.locator("#ticket-body .timeline li", has_text="垃圾就在3单元门口").wait_for()
    operator.get_by_role("button", name="派单", exact=True).click()
    operator.locator("#ticket-body .badge", has_text="已派单").wait_for()
    with live_server.app.state.runtime.new_uow() as uow:
        ticket_id = select(Ticket.id).where(Ticket.number == queued).scalar_subquery()
        sent_to = uow.session.scalars(
            select(TicketAssignment.unit_id).where(TicketAssignment.ticket_id == ticket_id)
        ).all()
        assert [str(unit_id) for unit_id in sent_to] == [chosen]


def test_a_direct_answer_being_typed_survives_a_live_refresh(
    pages: tuple[Any, Any], queued: str, live_server: LiveServer
) -> None:
    citizen, operator = pages
    _open(operator, queued)
    operator.get_by_label("直接答复").click()
    operator.keyboard.type("您好，已通知物业，")
    _citizen_adds(pages, "垃圾就在3单元门口")
    operator.locator("#ticket-body .timeline li", has_text="垃圾就在3单元门口").wait_for()  # redrawn while they type
    operator.keyboard.type("今天下午清运。")  # still in the field
    operator.get_by_role("button", name="答复并办结").click()
    citizen.get_by_text("您好，已通知物业，今天下午清运。").wait_for()
    assert _ticket_status(live_server, queued) == "resolved"


def test_a_ticket_answer_overtaken_by_a_newer_one_is_not_drawn(pages: tuple[Any, Any], queued: str) -> None:
    _, operator = pages
    _open(operator, queued)
    late = _Late(operator, "**/api/tickets/*")
    _citizen_adds(pages, "垃圾就在3单元门口")
    late.wait_until_held()
    _citizen_adds(pages, "现在又多了两袋")
    newer = operator.locator("#ticket-body .timeline li", has_text="现在又多了两袋")
    newer.wait_for()
    late.answer()
    assert newer.count() == 1  # not back to the timeline without it


def test_a_late_answer_for_the_citizen_clicked_before_is_not_drawn_over_the_one_clicked_now(
    pages: tuple[Any, Any], browser: Any, queued: str, live_server: LiveServer
) -> None:
    _, operator = pages
    context = browser.new_context(locale="zh-CN")  # a second citizen waits
    other = context.new_page()
    other.set_default_timeout(15000)
    other.goto(live_server.url + "/")
    other.get_by_role("status").filter(has_text="在线").wait_for()
    second = _file_ticket(other, "朝阳区望京街道望京西园三区的路灯坏了一个星期")
    operator.locator("#queue-list .item", has_text=second).wait_for()
    late = _Late(operator, "**/api/conversations/*")
    operator.locator("#queue-list .item", has_text=queued).click()  # the operator clicks the first citizen,
    late.wait_until_held()  # whose chat is slow to come,
    _open(operator, second)  # and then the second
    operator.locator("#messages li.citizen", has_text="路灯").wait_for()
    late.answer()  # the first one's chat comes at last
    assert operator.locator("#messages li.citizen", has_text="垃圾").count() == 0
    assert operator.locator("#ticket-body .number").inner_text() == second
    operator.get_by_role("button", name="接入会话").click()
    operator.get_by_label("回复市民").fill("您好，路灯的事由我来跟进")
    operator.get_by_label("回复市民").press("Control+Enter")
    other.get_by_text("路灯的事由我来跟进").wait_for()  # to the citizen the operator sees
    context.close()


def test_what_the_citizen_writes_while_their_chat_loads_is_shown(pages: tuple[Any, Any], queued: str) -> None:
    _, operator = pages
    late = _Late(operator, "**/api/conversations/*")
    operator.locator("#queue-list .item", has_text=queued).click()  # the operator opens the chat,
    late.wait_until_held()  # read, but slow to come,
    _citizen_adds(pages, "垃圾就在3单元门口")  # and the citizen writes meanwhile
    operator.locator("#queue-list .preview", has_text="垃圾就在3单元门口").wait_for()  # heard live
    late.answer()
    operator.locator("#messages li.citizen", has_text="垃圾就在3单元门口").wait_for()


def test_a_reply_being_typed_survives_the_citizens_new_messages(pages: tuple[Any, Any], queued: str) -> None:
    citizen, operator = pages
    _open(operator, queued)
    operator.get_by_role("button", name="接入会话").click()
    operator.get_by_label("回复市民").click()
    operator.keyboard.type("您好，请问垃圾")
    _citizen_adds(pages, "垃圾就在3单元门口")
    operator.locator("#messages li.citizen", has_text="垃圾就在3单元门口").wait_for()  # live, while they type
    operator.locator("#ticket-body .timeline li", has_text="垃圾就在3单元门口").wait_for()  # the ticket redrawn too
    operator.keyboard.type("是在哪个门口？")
    operator.keyboard.press("Control+Enter")
    citizen.get_by_text("您好，请问垃圾是在哪个门口？").wait_for()


def test_opening_the_chat_again_keeps_the_reply_being_typed(pages: tuple[Any, Any], queued: str) -> None:
    citizen, operator = pages
    _open(operator, queued)
    operator.get_by_role("button", name="接入会话").click()
    operator.get_by_label("回复市民").fill("您好，马上为您联系物业")
    with operator.expect_response("**/api/conversations/*") as answered:
        operator.locator("#queue-list .item", has_text=queued).click()  # the chat is loaded again
    answered.value.finished()
    operator.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # time to draw it
    operator.get_by_label("回复市民").press("Control+Enter")
    citizen.get_by_text("您好，马上为您联系物业").wait_for()


def test_when_a_colleague_takes_the_chat_the_operator_sees_it_at_once(
    pages: tuple[Any, Any], browser: Any, queued: str, live_server: LiveServer
) -> None:
    _, operator = pages
    with live_server.app.state.runtime.new_uow() as uow:
        create_operator(uow.session, username="op2", display_name="话务员二", password=PASSWORD, role=Role.OPERATOR,
                        now=datetime.now(UTC))
        uow.commit()
    _open(operator, queued)
    operator.get_by_role("button", name="接入会话").wait_for()
    with _console(browser, live_server.url, "op2") as colleague:
        _open(colleague, queued)
        colleague.get_by_role("button", name="接入会话").click()
        colleague.get_by_label("回复市民").wait_for()
    operator.locator("#chat-title", has_text="他人接待中").wait_for()  # live, no click
    assert operator.get_by_role("button", name="接入会话").count() == 0
    assert operator.get_by_label("回复市民").is_hidden()


def test_the_chat_follows_new_messages_only_while_scrolled_to_its_end(pages: tuple[Any, Any], queued: str) -> None:
    citizen, operator = pages
    operator.set_viewport_size({"width": 1280, "height": 520})
    _open(operator, queued)
    operator.get_by_role("button", name="接入会话").click()
    operator.get_by_label("回复市民").wait_for()
    body = operator.locator("#chat-body")
    n = 0
    while body.evaluate("b => b.scrollHeight - b.clientHeight") < 300 and n < 30:
        n += 1
        _citizen_adds(pages, f"补充情况第{n}条：垃圾越堆越多")
        operator.locator("#messages li.citizen", has_text=f"补充情况第{n}条").wait_for()
    assert body.evaluate("b => b.scrollHeight - b.scrollTop - b.clientHeight") < 40  # it followed them

    body.evaluate("b => { b.scrollTop = 0; }")  # the operator scrolls up to read the first messages
    _citizen_adds(pages, "又来了一车垃圾")
    operator.locator("#messages li.citizen", has_text="又来了一车垃圾").wait_for()
    operator.evaluate("() => new Promise((done) => setTimeout(done, 300))")  # a live refresh's time
    assert body.evaluate("b => b.scrollTop") == 0  # still where they were reading

    operator.get_by_label("回复市民").fill("收到，马上联系物业")
    operator.get_by_label("回复市民").press("Control+Enter")
    operator.locator("#messages li.operator", has_text="马上联系物业").wait_for()
    assert body.evaluate("b => b.scrollHeight - b.scrollTop - b.clientHeight") < 40  # their own reply: to the end
    citizen.get_by_text("收到，马上联系物业").wait_for()


# -- the supervisor's table redrawn by a live change while they work in it -------------------------


@pytest.fixture
def overdue(pages: tuple[Any, Any], live_server: LiveServer) -> str:
    """The citizen's ticket, dispatched to 望京街道 three days ago and not signed; its number."""
    return _dispatched_to_wangjing(pages, live_server, ago=timedelta(days=3))


@pytest.fixture
def supervisor(browser: Any, live_server: LiveServer, overdue: str) -> Iterator[Any]:
    """The supervisor, logged in, on the overdue list."""
    with _console(browser, live_server.url, "boss") as page:
        page.locator('#tabs [data-tab="supervision"]').click()
        _overdue_row(page, overdue).get_by_role("cell", name="0次", exact=True).wait_for()
        yield page


def _overdue_row(page: Any, number: str) -> Any:
    return page.locator("#supervision-body tr", has_text=number)


def test_what_the_supervisor_types_survives_a_live_refresh(
    supervisor: Any, overdue: str, live_server: LiveServer
) -> None:
    with live_server.app.state.runtime.new_uow() as uow:
        code, name = uow.session.execute(
            select(Unit.code, Unit.name)
            .where(Unit.code != "110105026", Unit.active.is_(True))
            .order_by(Unit.code)
            .limit(1)
        ).one()
    row = _overdue_row(supervisor, overdue)
    row.get_by_label("改派单位编码").click()
    supervisor.keyboard.type(code[:4])
    _remind(live_server, overdue)
    row.get_by_role("cell", name="1次", exact=True).wait_for()  # redrawn while the supervisor types
    supervisor.keyboard.type(code[4:])  # still in the field
    assert row.get_by_label("改派单位编码").input_value() == code
    row.get_by_role("button", name="改派").click()
    supervisor.get_by_text(f"已改派至{name}").wait_for()
    with live_server.app.state.runtime.new_uow() as uow:
        ticket_id = select(Ticket.id).where(Ticket.number == overdue).scalar_subquery()
        now_at = uow.session.scalars(
            select(Unit.code).join(TicketAssignment, TicketAssignment.unit_id == Unit.id)
            .where(TicketAssignment.ticket_id == ticket_id, TicketAssignment.status == "dispatched")
        ).all()
        assert now_at == [code]


def test_a_live_refresh_while_the_supervisor_presses_remind_does_not_lose_the_click(
    supervisor: Any, overdue: str, live_server: LiveServer
) -> None:
    row = _overdue_row(supervisor, overdue)
    row.get_by_role("button", name="督办").hover()
    supervisor.mouse.down()  # the supervisor presses 督办,
    _remind(live_server, overdue)  # (a colleague's 督办)
    row.get_by_role("cell", name="1次", exact=True).wait_for()  # the table is redrawn,
    supervisor.mouse.up()  # and they let go
    row.get_by_role("cell", name="2次", exact=True).wait_for()
    with live_server.app.state.runtime.new_uow() as uow:
        ticket_id = select(Ticket.id).where(Ticket.number == overdue).scalar_subquery()
        reminders = select(TicketAssignment.reminders).where(TicketAssignment.ticket_id == ticket_id)
        assert uow.session.scalars(reminders).one() == 2


def test_an_overdue_list_overtaken_by_a_newer_one_is_not_drawn(
    supervisor: Any, overdue: str, live_server: LiveServer
) -> None:
    late = _Late(supervisor, "**/api/supervision/overdue")
    _remind(live_server, overdue)
    late.wait_until_held()
    _remind(live_server, overdue)
    row = _overdue_row(supervisor, overdue)
    row.get_by_role("cell", name="2次", exact=True).wait_for()
    late.answer()
    assert row.get_by_role("cell", name="2次", exact=True).count() == 1  # not back to 1次
