"""`hotline serve --processes 2`: the processes share a port, so a scrape reaches either one; each
answers with the counts of both."""

from __future__ import annotations

import re

import httpx
import pytest

from bench.citizens import SECRET_HEADER, telegram_update
from bench.cluster import Cluster
from tests.production.conftest import TELEGRAM_SECRET

pytestmark = pytest.mark.postgres
MESSAGES = 40


def messages_in(scrape: str) -> float:
    found = re.search(r'^hotline_messages_in_total\{channel="telegram"\} (\S+)$', scrape, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_every_scrape_counts_the_messages_of_both_processes(cluster: Cluster) -> None:
    web = cluster.web(processes=2)
    web.wait_ready()
    # New connections each time, so the kernel spreads them over both processes.
    for n in range(MESSAGES):
        response = httpx.post(web.url + "/telegram/webhook", json=telegram_update(n, user_base=30_000_000),
                              headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert response.status_code == 200
    scrapes = [httpx.get(web.url + "/metrics").text for _ in range(8)]
    assert [messages_in(scrape) for scrape in scrapes] == [MESSAGES] * 8
    assert all('hotline_tickets{status="accepted"}' in scrape for scrape in scrapes)  # the database's gauges too
    assert all("hotline_nlu_seconds_count" in scrape for scrape in scrapes)
