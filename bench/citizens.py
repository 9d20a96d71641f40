"""Simulated citizens: Telegram updates and WeChat callbacks posted to real Hotline processes the way
the platforms post them, retried the way the platforms retry (a connection error or a 5xx is tried
again, on the next process behind the "load balancer"), and the checks that nothing was lost.

Used by `python -m bench.load` and by the fault tests (tests/production).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench.wire import Wire, WireError
from handoff.models import Direction, Message, OutboxEntry, OutboxStatus, Ticket

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FAQ_FILE = Path(__file__).resolve().parents[1] / "nlu" / "data" / "faq.jsonl"
STREETS = ["阜通东大街", "望京西路", "广顺北大街", "利泽中街", "南湖北路"]


def complaint(n: int) -> str:
    """A message that opens a ticket at once: what, and where, in one go."""
    return f"朝阳区望京街道{STREETS[n % len(STREETS)]}{n % 97 + 1}号楼下垃圾堆了三天没人清理，编号{n}"


@cache
def _faq_questions() -> tuple[str, ...]:
    """The ways the shipped FAQ's questions are asked (its alternatives): what the FAQ answers."""
    entries = [json.loads(line) for line in FAQ_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    return tuple(alternative for entry in entries for alternative in entry.get("alternatives", []))


def question(n: int) -> str:
    """A question the FAQ answers (no ticket), asked a few ways."""
    asked = _faq_questions()
    return ["请问", "你好，", "", "想问一下，"][n % 4] + asked[n % len(asked)]


def telegram_update(n: int, *, user_base: int = 10_000_000, text: str | None = None) -> dict[str, object]:
    user = user_base + n
    sender = {"id": user, "is_bot": False, "first_name": f"市民{n}", "language_code": "zh-hans"}
    return {
        "update_id": 500_000_000 + n,
        "message": {
            "message_id": n + 1,
            "from": sender,
            "chat": {"id": user, "first_name": f"市民{n}", "type": "private"},
            "date": int(time.time()),
            "text": complaint(n) if text is None else text,
        },
    }


def wechat_callback(n: int, *, token: str, account: str = "gh_hotline", text: str | None = None) -> tuple[str, dict[str, str]]:
    """A plaintext-mode text callback and its signed query."""
    openid = f"oCitizen{n:010d}"
    xml = (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{complaint(n) if text is None else text}]]></Content><MsgId>{7_000_000_000 + n}</MsgId></xml>"
    )
    timestamp, nonce = str(int(time.time())), f"n{n}"
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return xml, {"signature": signature, "timestamp": timestamp, "nonce": nonce}


@dataclass(frozen=True)
class Request:
    """A platform's POST, built before the clock starts (the load generator shares the machine)."""

    key: str  # platform message id as stored: update:<id> or msg:<MsgId>
    chat_id: str
    path: str
    body: bytes
    headers: dict[str, str]
    params: dict[str, str] | None = None


def telegram_request(n: int, *, secret: str, text: str | None = None) -> Request:
    update = telegram_update(n, text=text)
    return Request(f"update:{update['update_id']}", str(update["message"]["chat"]["id"]),  # type: ignore[index]
                   "/telegram/webhook", json.dumps(update).encode(),
                   {SECRET_HEADER: secret, "Content-Type": "application/json"})


def wechat_request(n: int, *, token: str, text: str | None = None) -> Request:
    xml, query = wechat_callback(n, token=token, text=text)
    return Request(f"msg:{7_000_000_000 + n}", f"oCitizen{n:010d}", "/wechat", xml.encode(),
                   {"Content-Type": "text/xml"}, query)


@dataclass
class Posted:
    key: str  # platform message id as stored: update:<id> or msg:<MsgId>
    chat_id: str
    started: float
    accepted_at: float | None = None
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)


class Platform:
    """Posts like a platform: retries refused and failed deliveries until `give_up_after`.

    `light` posts with `bench.wire` instead of httpx, for the load benchmark (see there why)."""

    def __init__(self, urls: Sequence[str], *, concurrency: int = 64, give_up_after: float = 60.0,
                 light: bool = False) -> None:
        self.urls = list(urls)
        self._next_url = itertools.cycle(range(len(self.urls)))
        self._limit = asyncio.Semaphore(concurrency)
        self._give_up_after = give_up_after
        self.client = httpx.AsyncClient(
            timeout=10.0, limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
        )
        self._wire = Wire() if light else None

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._wire is not None:
            await self._wire.aclose()

    async def telegram(self, n: int, *, secret: str) -> Posted:
        return await self.send(telegram_request(n, secret=secret))

    async def wechat(self, n: int, *, token: str) -> Posted:
        return await self.send(wechat_request(n, token=token))

    async def send(self, request: Request) -> Posted:
        posted = Posted(request.key, request.chat_id, time.monotonic())
        return await self._deliver(posted, request.path, request.body, request.headers, request.params)

    async def _deliver(
        self, posted: Posted, path: str, body: bytes, headers: dict[str, str], params: dict[str, str] | None = None
    ) -> Posted:
        async with self._limit:
            posted.started = time.monotonic()
            while time.monotonic() - posted.started < self._give_up_after:
                url = self.urls[next(self._next_url)] + path
                posted.attempts += 1
                status = await self._post(url, body, headers, params)
                posted.statuses.append(status)
                if status == 200:
                    posted.accepted_at = time.monotonic()
                    return posted
                await asyncio.sleep(0.2)
        return posted

    async def _post(self, url: str, body: bytes, headers: dict[str, str], params: dict[str, str] | None) -> int:
        """The status code, or 0 when the connection failed (the platform tries again)."""
        try:
            if self._wire is not None:
                return await self._wire.post(url, body, headers=headers, params=params)
            response = await self.client.post(url, content=body, headers=headers, params=params)
            return response.status_code
        except (httpx.TransportError, WireError):
            return 0


# -- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    accepted: int
    stored: int
    with_ticket: int
    with_reply: int
    undelivered: int
    failed: int


def audit(engine: Engine, accepted: Sequence[Posted]) -> Audit:
    """For every accepted message: stored once, a ticket, a reply; and what the outbox still holds."""
    keys = [p.key for p in accepted]
    with Session(engine) as session:
        stored = _in_chunks(session, keys, lambda chunk: select(func.count()).select_from(Message).where(
            Message.direction == Direction.IN, Message.platform_msg_id.in_(chunk)))
        with_ticket = _in_chunks(session, keys, lambda chunk: select(func.count(func.distinct(Ticket.id))).select_from(
            Ticket).join(Message, Message.conversation_id == Ticket.conversation_id).where(
            Message.direction == Direction.IN, Message.platform_msg_id.in_(chunk)))
        inbound = select(Message.id).where(Message.direction == Direction.IN)
        with_reply = _in_chunks(session, keys, lambda chunk: select(func.count(func.distinct(Message.in_reply_to))).where(
            Message.direction == Direction.OUT, Message.in_reply_to.in_(inbound.where(Message.platform_msg_id.in_(chunk)))))
        undelivered = session.scalar(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))) or 0
        failed = session.scalar(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.status == OutboxStatus.FAILED)) or 0
    return Audit(len(keys), stored, with_ticket, with_reply, undelivered, failed)


def _in_chunks(session: Session, keys: Sequence[str], query: object) -> int:
    total = 0
    for start in range(0, len(keys), 1000):
        total += session.scalar(query(keys[start : start + 1000])) or 0  # type: ignore[operator]
    return total


def sent_entries(engine: Engine, channel: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(OutboxEntry).where(
            OutboxEntry.channel == channel, OutboxEntry.status == OutboxStatus.SENT)) or 0


async def wait_delivered(engine: Engine, *, timeout: float) -> None:
    """Until the outbox is empty of work (or the time is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            left = session.scalar(select(func.count()).select_from(OutboxEntry).where(
                OutboxEntry.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING))))
        if not left:
            return
        await asyncio.sleep(0.3)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
