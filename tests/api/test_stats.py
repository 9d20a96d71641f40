"""The statistics API: every rate comes with the counts behind it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from handoff.demo import load_demo_tickets
from tests.api.test_console import Console, app_client  # noqa: F401  (the fixture)


@pytest.fixture
def demo(app_client: TestClient) -> None:  # noqa: F811
    with app_client.app.state.runtime.new_uow() as uow:  # type: ignore[attr-defined]
        load_demo_tickets(uow.session, now=datetime(2026, 11, 23, 2, tzinfo=UTC), tz=ZoneInfo("Asia/Shanghai"), per_day=12)
        uow.commit()


def test_rates_rankings_trend_breakdown_and_topics(app_client: TestClient, demo: None) -> None:  # noqa: F811
    boss = Console(app_client, "boss")
    for level in ("street", "district", "department"):
        body = boss.get("/api/stats/rates", params={"month": "2026-10", "level": level}).json()
        assert body["units"] and body["weights"] == {"satisfied": 1.0, "basically": 0.8, "unsatisfied": 0.0}
        for unit in body["units"]:
            counts = unit["counts"]
            if counts["dispatched"]:
                assert unit["response_rate"] == pytest.approx(counts["responded_in_time"] / counts["dispatched"])
            if counts["answered"]:
                assert unit["resolution_rate"] == pytest.approx(counts["resolved"] / counts["answered"])
                points = counts["satisfied"] + 0.8 * counts["basically_satisfied"]
                assert unit["satisfaction_rate"] == pytest.approx(points / counts["answered"])
    districts = boss.get("/api/stats/rates", params={"month": "2026-10", "level": "district"}).json()["units"]
    assert len(districts) == 16

    ranking = boss.get("/api/stats/ranking", params={"month": "2026-10", "top": 5}).json()
    assert ranking["month"] == "2026-10" and len(ranking["governance"]) == 5
    assert ranking["weights"] == {"response": 0.1, "resolution": 0.45, "satisfaction": 0.45}

    trend = boss.get("/api/stats/trend", params={"month": "2026-10", "months": 3}).json()
    assert [m["month"] for m in trend] == ["2026-08", "2026-09", "2026-10"] and all(m["tickets"] > 0 for m in trend)

    breakdown = boss.get("/api/stats/breakdown", params={"month": "2026-10"}).json()
    assert sum(breakdown["by_category"].values()) == trend[-1]["tickets"] == sum(breakdown["by_district"].values())

    topics = boss.get("/api/stats/hot-topics", params={"month": "2026-10"}).json()
    assert topics and topics[0]["size"] >= topics[-1]["size"] and topics[0]["typical"]

    ticket_id = boss.get("/api/tickets", params={"text": "电梯", "limit": 1}).json()[0]["id"]
    similar = boss.get(f"/api/tickets/{ticket_id}/similar").json()
    assert similar and all("电梯" in s["ticket"]["description"] for s in similar[:3])

    assert boss.get("/api/stats/ranking", params={"month": "2026-13"}).status_code == 422
    assert Console(app_client, "wj").get("/api/stats/rates").status_code == 403
