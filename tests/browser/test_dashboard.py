"""The supervisors' dashboard in Chromium, on demo data: charts drawn, ranking and hot topics shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handoff.accounts import create_operator
from handoff.demo import load_demo_tickets
from handoff.models import Role
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


def test_the_dashboard_shows_rates_charts_ranking_and_topics(browser: Any, live_server: LiveServer) -> None:
    with live_server.app.state.runtime.new_uow() as uow:
        load_demo_tickets(uow.session, now=datetime(2026, 11, 23, 2, tzinfo=UTC), tz=ZoneInfo("Asia/Shanghai"), per_day=15)
        create_operator(uow.session, username="boss", display_name="督办", password=PASSWORD, role=Role.SUPERVISOR,
                        now=datetime.now(UTC))
        uow.commit()
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)
    page.goto(live_server.url + "/dashboard?month=2026-10")
    page.get_by_role("alert").filter(has_text="登录工作台").wait_for()  # not logged in: told where to log in

    page.goto(live_server.url + "/console")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_text("退出").wait_for()
    page.goto(live_server.url + "/dashboard?month=2026-10")
    page.locator("#ranking table").first.wait_for()

    assert page.evaluate("Object.keys(Chart.instances).length") == 3  # trend, categories, districts
    assert page.evaluate("Chart.getChart('chart-trend').data.labels.at(-1)") == "2026-10"
    assert page.locator("#kpi-response").inner_text().endswith("%")
    for title in ("先进类", "进步类", "整改类", "治理类"):
        assert page.locator("#ranking h3", has_text=title).count() == 1
    assert page.locator("#ranking table").first.locator("tbody tr").count() >= 5
    assert page.locator("#grid tbody tr").count() >= 10  # districts × categories
    assert page.locator("#topics > li").count() >= 5
    context.close()
