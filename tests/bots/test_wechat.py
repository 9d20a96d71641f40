"""The WeChat adapter: recorded callbacks parsed, signatures and AES with wechatpy's own crypto,
XML bombs refused, and pushes through wechatpy's client to a fake WeChat API with a token shared
in the database."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from api.channels import build_wechat
from api.config import Settings
from bots.errors import InvalidSignatureError, MalformedPayloadError
from bots.wechat import WeChatChannel, parse_message_xml
from handoff.errors import DeliveryError
from handoff.messages import Button, Delivery, GeoPoint, Reply
from tests.bots.platforms import WECHAT_APP_ID, WECHAT_SECRET, FakeWeChat, wechat_fixture

TOKEN = "hotline-callback-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console gives it
OPENID = "oAbCd1234567890EfGhIjKlMnOpQ"


def signed_query(timestamp: str = "1763866800", nonce: str = "n0nce", **extra: str) -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, **extra}


def channel(aes_key: str | None = None) -> WeChatChannel:
    return WeChatChannel(app_id=WECHAT_APP_ID, token=TOKEN, aes_key=aes_key, client=None)


# -- reading callbacks -------------------------------------------------------------------------------


def test_text_message() -> None:
    callback = parse_message_xml(wechat_fixture("text"))
    msg = callback.message
    assert msg is not None and (callback.openid, callback.account) == (OPENID, "gh_5f1e0c8d2a3b")
    assert (msg.channel, msg.chat_id, msg.platform_msg_id) == ("wechat", OPENID, "msg:24390012345678901")
    assert msg.text.startswith("朝阳区望京街道")


def test_location_image_and_recognised_voice() -> None:
    location = parse_message_xml(wechat_fixture("location")).message
    image = parse_message_xml(wechat_fixture("image")).message
    voice = parse_message_xml(wechat_fixture("voice")).message
    assert location is not None and location.location == GeoPoint(39.996812, 116.470231, "北京市朝阳区阜通东大街6号")
    assert image is not None and image.attachments[0].kind == "image"
    assert (image.attachments[0].file_id, image.attachments[0].url) == (
        "media_id_Image_8dK2", "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0"
    )
    assert voice is not None and voice.text == "我的工单怎么样了" and voice.attachments[0].kind == "voice"
    video = parse_message_xml(wechat_fixture("video")).message
    assert video is not None and [(a.kind, a.file_id) for a in video.attachments] == [("video", "media_id_Video_7Hs0")]


@pytest.mark.parametrize(
    ("fixture", "event", "key"),
    [
        ("subscribe", "subscribe", f"event:{OPENID}:1763866700:subscribe"),
        ("unsubscribe", "unsubscribe", f"event:{OPENID}:1763866900:unsubscribe"),
        ("click", "menu:MY_TICKETS", f"event:{OPENID}:1763866805:click"),
    ],
)
def test_events_and_their_retry_keys(fixture: str, event: str, key: str) -> None:
    msg = parse_message_xml(wechat_fixture(fixture)).message
    assert msg is not None and (msg.event, msg.platform_msg_id) == (event, key)


@pytest.mark.parametrize("fixture", ["billion_laughs", "xxe"])
def test_xml_with_doctype_or_entities_is_refused_before_parsing(fixture: str) -> None:
    body = wechat_fixture(fixture).encode()
    with pytest.raises(MalformedPayloadError):
        channel().read_callback(body, signed_query())
    with pytest.raises(MalformedPayloadError):
        parse_message_xml(body.decode())


def test_url_verification_answers_echostr_only_when_signed() -> None:
    assert channel().verify_url(signed_query(echostr="4567")) == "4567"
    with pytest.raises(InvalidSignatureError):
        channel().verify_url({**signed_query(echostr="4567"), "signature": "0" * 40})


def test_plaintext_callback_needs_the_signature() -> None:
    body = wechat_fixture("text").encode()
    assert channel().read_callback(body, signed_query()).message is not None
    with pytest.raises(InvalidSignatureError):
        channel().read_callback(body, {**signed_query(), "signature": "bad"})


def test_safe_mode_round_trip_with_wechatpys_own_crypto() -> None:
    platform = WeChatCrypto(TOKEN, AES_KEY, WECHAT_APP_ID)  # what WeChat does on its side
    encrypted = platform.encrypt_message(wechat_fixture("text"), "n0nce", "1763866800")
    fields = xmltodict.parse(encrypted)["xml"]
    query = signed_query(encrypt_type="aes", msg_signature=fields["MsgSignature"])
    ours = channel(AES_KEY)
    callback = ours.read_callback(encrypted.encode(), query)
    assert callback.encrypted and callback.message is not None and callback.message.text.startswith("朝阳区")
    answer = ours.passive_reply(callback, Reply("已受理", (Button("我的工单", "status"),)), query)
    answer_fields = xmltodict.parse(answer)["xml"]
    plain = platform.decrypt_message(answer, answer_fields["MsgSignature"], answer_fields["TimeStamp"], answer_fields["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (OPENID, "gh_5f1e0c8d2a3b", "text")
    assert reply["Content"] == "已受理\n\n1. 我的工单"
    with pytest.raises(InvalidSignatureError):  # a tampered msg_signature
        ours.read_callback(encrypted.encode(), {**query, "msg_signature": "0" * 40})


def test_compatible_mode_reads_the_plaintext_fields_without_our_key() -> None:
    platform = WeChatCrypto(TOKEN, AES_KEY, WECHAT_APP_ID)
    encrypted = xmltodict.parse(platform.encrypt_message(wechat_fixture("text"), "n0nce", "1763866800"))["xml"]
    body = wechat_fixture("text").replace("</xml>", f"<Encrypt><![CDATA[{encrypted['Encrypt']}]]></Encrypt>\n</xml>")
    query = signed_query(encrypt_type="aes", msg_signature=encrypted["MsgSignature"])
    for ours in (channel(), channel(AES_KEY)):  # without the key: plaintext; with it: decrypted
        msg = ours.read_callback(body.encode(), query).message
        assert msg is not None and msg.platform_msg_id == "msg:24390012345678901"


# -- pushing -----------------------------------------------------------------------------------------


def pushing_channel(fake: FakeWeChat, uow_factory, *, template: str | None = "TPL-status") -> WeChatChannel:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, wechat_app_id=WECHAT_APP_ID, wechat_app_secret=WECHAT_SECRET, wechat_token=TOKEN,
        wechat_api_url=fake.url, wechat_template_id=template, channel_timeout=0.5,
    )
    built = build_wechat(settings, uow_factory)
    assert built is not None
    return built


def push(last_inbound_at: datetime | None, text: str = "工单已派单") -> Delivery:
    entry = uuid.uuid4()
    return Delivery(
        outbox_id=entry, channel="wechat", chat_id=OPENID, reply=Reply(text), kind="status", attempt=1,
        idempotency_key=str(entry), last_inbound_at=last_inbound_at,
    )


async def test_within_48_hours_a_customer_service_message(fake_wechat: FakeWeChat, uow_factory) -> None:
    sender = pushing_channel(fake_wechat, uow_factory)
    await sender.send(push(datetime.now(UTC) - timedelta(hours=47)))
    [call] = fake_wechat.custom_messages()
    assert call.params == {"touser": OPENID, "msgtype": "text", "text": {"content": "工单已派单"}}
    assert fake_wechat.templates() == []


async def test_after_48_hours_the_template(fake_wechat: FakeWeChat, uow_factory) -> None:
    sender = pushing_channel(fake_wechat, uow_factory)
    assert await sender.send(push(datetime.now(UTC) - timedelta(hours=49))) == "5000"
    [call] = fake_wechat.templates()
    assert call.params["template_id"] == "TPL-status" and call.params["data"] == {"content": {"value": "工单已派单"}}
    fake_wechat.fail("45015")  # WeChat thinks the window closed earlier than we do: template
    await sender.send(push(datetime.now(UTC) - timedelta(hours=1)))
    assert len(fake_wechat.templates()) == 2 and fake_wechat.custom_messages() == []


async def test_after_48_hours_without_a_template_it_fails_for_good(fake_wechat: FakeWeChat, uow_factory) -> None:
    with pytest.raises(DeliveryError) as raised:
        await pushing_channel(fake_wechat, uow_factory, template=None).send(push(None))
    assert not raised.value.retryable


async def test_the_access_token_is_fetched_once_and_shared(fake_wechat: FakeWeChat, uow_factory) -> None:
    first, second = pushing_channel(fake_wechat, uow_factory), pushing_channel(fake_wechat, uow_factory)
    recent = datetime.now(UTC)
    # Two "processes" (two clients with nothing in memory) push at once: one token fetch in all.
    threads = [threading.Thread(target=c._send, args=(push(recent),)) for c in (first, second) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_wechat.token_fetches == 1 and len(fake_wechat.custom_messages()) == 6


@pytest.mark.parametrize("errcode", ["40001", "40014", "42001"])
async def test_a_rejected_token_is_renewed_at_once(fake_wechat: FakeWeChat, uow_factory, errcode: str) -> None:
    sender = pushing_channel(fake_wechat, uow_factory)
    await sender.send(push(datetime.now(UTC)))
    fake_wechat.fail(errcode)
    await sender.send(push(datetime.now(UTC), "第二条"))
    assert fake_wechat.token_fetches == 2
    assert [c.params["text"]["content"] for c in fake_wechat.custom_messages()] == ["工单已派单", "第二条"]


async def test_a_token_about_to_expire_is_renewed_before_use(fake_wechat: FakeWeChat, uow_factory, engine) -> None:
    from sqlalchemy import update

    from handoff.models import SharedCredential

    sender = pushing_channel(fake_wechat, uow_factory)
    await sender.send(push(datetime.now(UTC)))
    with engine.begin() as connection:
        connection.execute(update(SharedCredential).values(expires_at=datetime.now(UTC) + timedelta(minutes=2)))
    await sender.send(push(datetime.now(UTC)))
    assert fake_wechat.token_fetches == 2 and len(fake_wechat.custom_messages()) == 2


@pytest.mark.parametrize(("failure", "retryable"), [("500", True), ("timeout", True), ("-1", True), ("43004", False)])
async def test_wechat_errors_become_delivery_errors(
    fake_wechat: FakeWeChat, uow_factory, failure: str, retryable: bool
) -> None:
    fake_wechat.hang_seconds = 1.5
    sender = pushing_channel(fake_wechat, uow_factory)
    await sender.send(push(datetime.now(UTC)))
    fake_wechat.fail(failure)
    with pytest.raises(DeliveryError) as raised:
        await sender.send(push(datetime.now(UTC)))
    assert raised.value.retryable is retryable
