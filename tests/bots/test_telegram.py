"""The Telegram adapter: recorded updates parsed, and python-telegram-bot sending to a fake Bot API
(with 429, 500, 403 and timeouts injected) through the delivery worker."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import UTC, datetime

import pytest

from api.channels import build_telegram
from api.config import Settings
from bots.errors import InvalidSignatureError, MalformedPayloadError
from bots.ratelimit import RateLimiter
from bots.telegram import SECRET_HEADER, TelegramChannel, parse_update, read_update
from handoff.delivery import DeliveryPolicy, DeliveryWorker, pending_count
from handoff.errors import DeliveryError
from handoff.intake import handle_inbound
from handoff.messages import Button, Delivery, GeoPoint, InboundMessage, Reply
from tests.bots.platforms import TELEGRAM_TOKEN, FakeTelegram, telegram_fixture
from tests.fakes import FakeNlu

SECRET = "s3cret-token_for-the-webhook"


def channel_for(fake: FakeTelegram, **settings: object) -> TelegramChannel:
    values: dict[str, object] = {
        "telegram_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_url": fake.url,
        "channel_timeout": 0.5,
        **settings,
    }
    channel = build_telegram(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    assert channel is not None
    return channel


def delivery(chat_id: str = "424242", text: str = "您好", buttons: tuple[Button, ...] = ()) -> Delivery:
    entry = uuid.uuid4()
    return Delivery(
        outbox_id=entry, channel="telegram", chat_id=chat_id, reply=Reply(text, buttons), kind="reply",
        attempt=1, idempotency_key=str(entry),
    )


# -- reading updates --------------------------------------------------------------------------------


def test_text_message_becomes_an_inbound_message() -> None:
    msg = parse_update(telegram_fixture("text_message")).message
    assert msg is not None
    assert (msg.channel, msg.channel_user_id, msg.chat_id) == ("telegram", "424242", "424242")
    assert msg.platform_msg_id == "update:880001"
    assert msg.text.startswith("朝阳区望京街道") and msg.language == "zh-hans" and msg.display_name == "小 李"


@pytest.mark.parametrize(
    ("fixture", "event", "button"),
    [("start_command", "start", None), ("help_command", "help", None), ("status_command", None, "status")],
)
def test_commands_become_events_or_the_engines_own_buttons(fixture: str, event: str | None, button: str | None) -> None:
    msg = parse_update(telegram_fixture(fixture)).message
    assert msg is not None and (msg.event, msg.button, msg.text) == (event, button, "")


def test_shared_location_and_venue() -> None:
    pin = parse_update(telegram_fixture("location")).message
    venue = parse_update(telegram_fixture("venue")).message
    assert pin is not None and pin.location == GeoPoint(39.996812, 116.470231, None)
    assert venue is not None and venue.location == GeoPoint(39.996812, 116.470231, "望京SOHO 阜通东大街6号")


def test_photo_keeps_the_largest_size_and_the_caption() -> None:
    msg = parse_update(telegram_fixture("photo")).message
    assert msg is not None and msg.text == "楼道里的垃圾"
    assert [(a.kind, a.file_id) for a in msg.attachments] == [("image", "AgACAgUAAxkBAAIBlarge")]


def test_edited_message_is_a_new_message_marked_edited() -> None:
    msg = parse_update(telegram_fixture("edited_message")).message
    assert msg is not None and msg.edited and msg.platform_msg_id == "update:880008" and "四天" in msg.text


def test_button_press_carries_its_payload_and_the_query_to_answer() -> None:
    parsed = parse_update(telegram_fixture("callback_query"))
    assert parsed.callback_query_id == "4382bfdwdsb323b2d9"
    assert parsed.message is not None and parsed.message.button == "human" and parsed.message.chat_id == "424242"


def test_shared_contact_reads_as_the_citizens_phone() -> None:
    msg = parse_update(telegram_fixture("contact")).message
    assert msg is not None and msg.text == "+8613912345678"


def test_updates_we_do_not_handle_are_acknowledged_without_a_message() -> None:
    assert parse_update(telegram_fixture("channel_post")).message is None


@pytest.mark.parametrize("body", [{}, {"update_id": "x"}, {"update_id": 1, "message": {"text": "no chat"}}])
def test_malformed_updates_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(MalformedPayloadError):
        parse_update(body)


def test_the_webhook_secret_token_is_required() -> None:
    body = b'{"update_id": 1}'
    assert read_update(body, {SECRET_HEADER: SECRET}, secret=SECRET) == {"update_id": 1}
    for headers in ({}, {SECRET_HEADER: "wrong"}):
        with pytest.raises(InvalidSignatureError):
            read_update(body, headers, secret=SECRET)
    with pytest.raises(MalformedPayloadError):
        read_update(b"{not json", {SECRET_HEADER: SECRET}, secret=SECRET)


# -- sending ------------------------------------------------------------------------------------------


async def test_buttons_go_out_as_an_inline_keyboard(fake_telegram: FakeTelegram) -> None:
    channel = channel_for(fake_telegram)
    await channel.start()
    try:
        platform_id = await channel.send(delivery(buttons=(Button("转人工", "human"), Button("取消", "cancel"))))
    finally:
        await channel.close()
    [call] = fake_telegram.sent()
    assert platform_id == "100" and int(call.params["chat_id"]) == 424242 and call.params["text"] == "您好"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "转人工", "callback_data": "human"}], [{"text": "取消", "callback_data": "cancel"}]]
    }


@pytest.mark.parametrize(
    ("failure", "retryable", "retry_after"),
    [("429", True, 1.0), ("500", True, None), ("timeout", True, None), ("403", False, None)],
)
async def test_telegram_errors_become_delivery_errors(
    fake_telegram: FakeTelegram, failure: str, retryable: bool, retry_after: float | None
) -> None:
    fake_telegram.hang_seconds = 1.5
    channel = channel_for(fake_telegram)
    fake_telegram.fail(failure)
    with pytest.raises(DeliveryError) as raised:
        await channel.send(delivery())
    await channel.close()
    assert (raised.value.retryable, raised.value.retry_after) == (retryable, retry_after)
    assert fake_telegram.sent() == []


async def test_injected_failures_end_in_exactly_one_delivery_each_in_order(
    fake_telegram: FakeTelegram, uow_factory
) -> None:
    fake_telegram.hang_seconds = 1.0
    channel = channel_for(fake_telegram, telegram_rate_per_chat=0)
    nlu = FakeNlu()
    for n, text in enumerate(["你好", "居住证怎么办理", "谢谢"]):
        msg = InboundMessage(
            channel="telegram", channel_user_id="424242", chat_id="424242", platform_msg_id=f"update:{n}",
            received_at=datetime.now(UTC), text=text,
        )
        handle_inbound(uow_factory(), nlu=nlu, msg=msg)
    expected = pending_count(uow_factory())
    fake_telegram.fail("429")
    fake_telegram.fail("500")
    fake_telegram.fail("timeout")
    worker = DeliveryWorker(uow_factory, {"telegram": channel}, DeliveryPolicy(backoff_base=0.05, backoff_cap=0.2))
    deadline = time.monotonic() + 20
    while pending_count(uow_factory()) and time.monotonic() < deadline:
        await worker.deliver_due()
        await asyncio.sleep(0.05)
    await channel.close()
    texts = [c.params["text"] for c in fake_telegram.sent()]
    assert len(texts) == expected == 3
    assert "您好" in texts[0] and "携带身份证" in texts[1]  # the chat's order survived the retries
    assert pending_count(uow_factory()) == 0


# -- flood limits -------------------------------------------------------------------------------------


def test_rate_limiter_spaces_chats_and_the_whole() -> None:
    now = [0.0]
    limiter = RateLimiter(overall=10, per_chat=1, clock=lambda: now[0])
    assert [limiter.reserve_chat("a") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert limiter.reserve_chat("b") == 0.0  # another chat has its own second
    assert [limiter.reserve_overall() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    unlimited = RateLimiter(overall=0, per_chat=None, clock=lambda: now[0])
    assert [unlimited.reserve_chat("a") + unlimited.reserve_overall() for _ in range(3)] == [0.0, 0.0, 0.0]


async def test_sending_respects_the_overall_rate(fake_telegram: FakeTelegram) -> None:
    channel = channel_for(fake_telegram, telegram_rate_overall=20, telegram_rate_per_chat=0)
    started = time.monotonic()
    await asyncio.gather(*(channel.send(delivery(chat_id=str(1000 + n))) for n in range(30)))
    elapsed = time.monotonic() - started
    await channel.close()
    assert len(fake_telegram.sent()) == 30
    assert elapsed >= 29 / 20 - 0.05  # 30 chats, but no more than 20 messages a second in all


async def test_sending_respects_the_per_chat_rate(fake_telegram: FakeTelegram) -> None:
    # The overall limit alone would space one chat's messages 3 / 100 s apart; the per-chat limit
    # asks for 0.5 s. The margin absorbs loopback jitter on a loaded machine.
    channel = channel_for(fake_telegram, telegram_rate_overall=100, telegram_rate_per_chat=2)
    await asyncio.gather(*(channel.send(delivery(chat_id=str(1000 + n % 3))) for n in range(12)))
    await channel.close()
    per_chat: dict[int, list[float]] = {}
    for call in fake_telegram.sent():
        per_chat.setdefault(int(call.params["chat_id"]), []).append(call.at)
    assert sorted(len(times) for times in per_chat.values()) == [4, 4, 4]
    gaps = [b - a for times in per_chat.values() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.3
    assert all(times[-1] - times[0] >= 3 * 0.5 - 0.15 for times in per_chat.values())


def test_the_enterprise_command_is_the_businesses_entry() -> None:
    update = telegram_fixture("start_command")
    update["message"] = {**update["message"], "text": "/enterprise",
                         "entities": [{"type": "bot_command", "offset": 0, "length": 11}]}
    msg = parse_update(update).message
    assert msg is not None and msg.event == "menu:enterprise"
