"""The citizen's page in a real Chromium: type, read the reply, reload, press a button, stay safe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"
TICKET = re.compile(r"20\d{11}")


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server.url + "/")
    page.get_by_role("status").filter(has_text="在线").wait_for()
    yield page
    context.close()


def _send(page: Any, text: str) -> None:
    page.get_by_label("输入消息").fill(text)
    page.get_by_label("输入消息").press("Enter")


def test_typing_a_complaint_shows_the_ticket_number(page: Any) -> None:
    _send(page, DEMO)
    number = page.locator(".msg--out .ticket-number").first
    number.wait_for()
    assert TICKET.fullmatch(number.inner_text())
    assert page.locator(".msg--in .msg__bubble").last.inner_text() == DEMO
    assert page.locator(".msg--pending").count() == 0  # the server acknowledged it


def test_after_a_reload_the_conversation_is_still_there(page: Any) -> None:
    _send(page, DEMO)
    page.locator(".msg--out .ticket-number").first.wait_for()
    number = page.locator(".msg--out .ticket-number").first.inner_text()
    page.reload()
    page.get_by_role("status").filter(has_text="在线").wait_for()
    page.get_by_text(DEMO).wait_for()
    assert page.locator(".ticket-number", has_text=number).count() >= 1


def test_a_reply_button_asks_for_the_status(page: Any) -> None:
    _send(page, DEMO)
    page.locator(".msg--out .ticket-number").first.wait_for()
    page.get_by_role("button", name="我的工单").first.click()
    page.get_by_text("已受理").first.wait_for()


def test_citizen_text_is_shown_as_text_never_run(page: Any) -> None:
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>粗体</b>'
    _send(page, attack)
    bubble = page.locator(".msg--in .msg__bubble").last
    bubble.wait_for()
    assert bubble.inner_text() == attack
    assert bubble.locator("img, script, b").count() == 0
    page.locator(".msg--out").nth(1).wait_for()  # the bot answered, so the text went round trip
    assert page.evaluate("window.__pwned") is None


def test_an_over_long_message_is_refused_on_the_page(page: Any) -> None:
    page.get_by_label("输入消息").evaluate("(el) => el.removeAttribute('maxlength')")
    _send(page, "好" * 2001)
    notice = page.get_by_role("alert")
    notice.wait_for()
    assert "过长" in notice.inner_text()
