"""Readiness (database, Redis, channel credentials), Prometheus metrics, request ids in JSON logs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.config import Settings
from api.logs import _JsonFormatter, _MaskingFilter, request_id
from bench.citizens import SECRET_HEADER, telegram_update
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram
from tests.conftest import LiveServer, free_port
from tests.fakes import FakeNlu

SECRET = "observability-secret"


def _settings(db_url: str, tmp_path: Path, telegram: FakeTelegram, **extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, data_dir=tmp_path, auto_migrate=False,
        telegram_token=TELEGRAM_TOKEN, telegram_api_url=telegram.url, telegram_rate_overall=0,
        telegram_rate_per_chat=0, **extra,
    )


@pytest.fixture
def server(db_url: str, tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[LiveServer]:
    settings = _settings(db_url, tmp_path, fake_telegram, telegram_webhook_secret=SECRET,
                         redis_url="redis://127.0.0.1:6379/0")
    with LiveServer(settings, FakeNlu()) as live:
        yield live


def test_ready_with_database_redis_and_credentials(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["database"], body["queue"], body["channels"]) == ("ok", "ok", {"web": "ok", "telegram": "ok"})


def test_not_ready_without_redis_or_a_channel_secret(db_url: str, tmp_path: Path, fake_telegram: FakeTelegram) -> None:
    settings = _settings(db_url, tmp_path, fake_telegram, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with LiveServer(settings, FakeNlu()) as live:
        response = httpx.get(f"{live.url}/readyz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["queue"], body["channels"]["telegram"]) == ("ok", "unreachable", "missing")


def test_metrics_count_messages_nlu_outbox_and_tickets(server: LiveServer, fake_telegram: FakeTelegram) -> None:
    update = telegram_update(1)
    update["message"]["text"] = "朝阳区望京街道垃圾没人清理"  # type: ignore[index]
    assert httpx.post(f"{server.url}/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}).status_code == 200
    deadline = time.monotonic() + 10
    while not fake_telegram.sent() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = ""
    while 'hotline_messages_out_total{channel="telegram"}' not in text and time.monotonic() < deadline:
        text = httpx.get(f"{server.url}/metrics").text
        time.sleep(0.05)
    assert 'hotline_messages_in_total{channel="telegram"} 1.0' in text
    assert 'hotline_messages_out_total{channel="telegram"}' in text
    assert "hotline_nlu_seconds_count 1.0" in text
    assert "hotline_tickets{" in text
    assert "# TYPE hotline_outbox_depth gauge" in text


def test_requests_carry_an_id_into_the_json_logs(server: LiveServer) -> None:
    given = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "lb-1234"})
    assert given.headers["x-request-id"] == "lb-1234"
    made = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["x-request-id"]) == 32
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "citizen 13812345678 at %s", ("a@b.cn",), None)
    _MaskingFilter().filter(record)
    token = request_id.set("req-42")
    try:
        line = json.loads(_JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "req-42"
    assert "13812345678" not in line["message"] and "a@b.cn" not in line["message"]
