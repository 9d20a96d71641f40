"""WeChat Official Account, on wechatpy: callbacks in (plaintext, compatible and safe/AES modes),
a passive reply in the HTTP response, customer-service or template messages for later pushes.

Reading a callback: the query's `signature` is always checked; in AES mode (`encrypt_type=aes`)
the `msg_signature` over the ciphertext too, by wechatpy's crypto. XML that declares a DOCTYPE or
entities is refused before any parser sees it. `parse_message_xml` is pure.

Sending (`WeChatChannel.send`, for the delivery worker): within 48 hours of the citizen's last
message the customer-service API; after it, the configured template. The access token comes from
the database (`handoff.credentials`), so every process shares one, and is renewed at once when
WeChat says it is invalid or expired (errcodes 40001, 40014, 42001).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import requests
from wechatpy import WeChatClient, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import ClickEvent, SubscribeEvent, SubscribeScanEvent, UnsubscribeEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.messages import (
    BaseMessage,
    ImageMessage,
    LocationMessage,
    ShortVideoMessage,
    TextMessage,
    VideoMessage,
    VoiceMessage,
)
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bots.errors import InvalidSignatureError, MalformedPayloadError
from handoff.credentials import current_credential, renew_credential
from handoff.errors import DeliveryError
from handoff.messages import Attachment, ChannelName, Delivery, GeoPoint, InboundMessage, Reply
from handoff.store import UowFactory

MAX_CALLBACK_BYTES = 64 * 1024
REPLY_WINDOW = timedelta(hours=48)
WINDOW_MARGIN = timedelta(minutes=5)  # clocks differ; past 47 h 55 min use the template
TOKEN_MARGIN = timedelta(minutes=5)  # renew this long before the token expires
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, expired token
WINDOW_CLOSED = frozenset({45015, 45047})  # outside the 48 hours; too many messages without an answer
GIVE_UP = frozenset({40003, 43004, 40037, 47001, 45002})  # bad openid, unsubscribed, bad template, bad body
TEMPLATE_FIELD = "content"  # the template needs a {{content.DATA}} field

_DANGEROUS_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class CallbackParams:
    """The query string WeChat signs every callback with."""

    signature: str
    timestamp: str
    nonce: str
    encrypt_type: str = "raw"
    msg_signature: str | None = None

    @classmethod
    def of(cls, query: Mapping[str, str]) -> CallbackParams:
        return cls(
            signature=query.get("signature", ""),
            timestamp=query.get("timestamp", ""),
            nonce=query.get("nonce", ""),
            encrypt_type=(query.get("encrypt_type") or "raw").lower(),
            msg_signature=query.get("msg_signature"),
        )


@dataclass(frozen=True)
class Callback:
    """One callback read: what the citizen did, and whom a passive reply goes from and to."""

    message: InboundMessage | None
    openid: str
    account: str  # the Official Account's own id (ToUserName), the sender of a passive reply
    encrypted: bool


def refuse_dangerous_xml(body: bytes) -> None:
    """No DOCTYPE, no entities: WeChat never sends them, and they are how XML bombs and XXE work."""
    if len(body) > MAX_CALLBACK_BYTES:
        raise MalformedPayloadError("callback too large")
    if _DANGEROUS_XML.search(body):
        raise MalformedPayloadError("XML with a DOCTYPE or entities is refused")


def parse_message_xml(xml: str, *, received_at: datetime | None = None) -> Callback:
    """One decrypted callback XML as a `Callback`. Pure: no I/O."""
    refuse_dangerous_xml(xml.encode())
    try:
        message = parse_message(xml)
        openid, account = message.source, message.target
    except Exception as exc:  # xmltodict and wechatpy raise whatever the bad input provokes
        raise MalformedPayloadError(f"not a WeChat message: {type(exc).__name__}") from exc
    if not openid or not account:
        raise MalformedPayloadError("FromUserName and ToUserName are required")
    fields = _fields(message)
    inbound = None
    if fields is not None:
        inbound = InboundMessage(
            channel="wechat",
            channel_user_id=openid,
            chat_id=openid,
            platform_msg_id=_dedupe_key(message),
            received_at=received_at or datetime.now(UTC),
            **fields,
        )
    return Callback(inbound, openid=openid, account=account, encrypted=False)


def _dedupe_key(message: BaseMessage) -> str:
    """What makes WeChat's retries of one callback recognisable: MsgId, or sender + time for events."""
    if message.id:
        return f"msg:{message.id}"
    event = getattr(message, "event", "") or message.type
    return f"event:{message.source}:{message.time}:{event}"


def _fields(message: BaseMessage) -> dict[str, Any] | None:
    if isinstance(message, TextMessage):
        return {"text": message.content or ""}
    if isinstance(message, LocationMessage):
        try:
            point = GeoPoint(float(message.location_x), float(message.location_y), message.label or None)
        except (TypeError, ValueError) as exc:
            raise MalformedPayloadError("Location_X and Location_Y must be numbers") from exc
        return {"location": point}
    if isinstance(message, ImageMessage):
        return {"attachments": (Attachment("image", message.media_id, message.image or None),)}
    if isinstance(message, VoiceMessage):
        # With speech recognition switched on, WeChat sends what was said: that is the citizen's text.
        return {"text": message.recognition or "", "attachments": (Attachment("voice", message.media_id),)}
    if isinstance(message, (VideoMessage, ShortVideoMessage)):
        return {"attachments": (Attachment("video", message.media_id),)}
    if isinstance(message, (SubscribeEvent, SubscribeScanEvent)):
        return {"event": "subscribe"}
    if isinstance(message, UnsubscribeEvent):
        return {"event": "unsubscribe"}
    if isinstance(message, ClickEvent):
        return {"event": f"menu:{message.key or ''}"[:64]}
    return None  # views, periodic location reports, scans …: acknowledged, not handled


class AccessToken:
    """The Official Account's access token, kept in the database for every process."""

    def __init__(self, uow: UowFactory, *, app_id: str, fetch: Callable[[], tuple[str, int]]) -> None:
        self._uow = uow
        self._key = f"wechat:{app_id}:access_token"
        self._fetch = fetch

    def get(self) -> str:
        token = current_credential(self._uow(), self._key, margin=TOKEN_MARGIN)
        return token or renew_credential(self._uow(), self._key, fetch=self._fetch, margin=TOKEN_MARGIN)

    def renew(self, rejected: str) -> str:
        return renew_credential(
            self._uow(), self._key, fetch=self._fetch, margin=TOKEN_MARGIN, rejected=rejected
        )


class WeChatApiClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client, pointed at a configurable API base URL and taking its access token from
    the shared store instead of one process's memory."""

    def __init__(self, app_id: str, secret: str, *, uow: UowFactory, api_url: str, timeout: float = 10.0) -> None:
        super().__init__(app_id, secret, timeout=timeout, auto_retry=False)  # we renew tokens ourselves
        self.API_BASE_URL = api_url.rstrip("/") + "/cgi-bin/"
        self.tokens = AccessToken(uow, app_id=app_id, fetch=self._fetch_token)
        self._used = threading.local()

    @property
    def access_token(self) -> str:
        token = self.tokens.get()
        self._used.token = token
        return token

    @property
    def last_token(self) -> str | None:
        """The token this thread last put on a request: the one to renew if WeChat rejects it."""
        return getattr(self._used, "token", None)

    def fetch_access_token(self) -> dict[str, Any]:
        token, expires_in = self._fetch_token()
        return {"access_token": token, "expires_in": expires_in}

    def _fetch_token(self) -> tuple[str, int]:
        response = self._http.get(
            self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            timeout=self.timeout,
        )
        if response.status_code >= 400:
            raise WeChatClientException(None, f"HTTP {response.status_code}", client=self, response=response)
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self, response=response)
        return str(result["access_token"]), int(result.get("expires_in", 7200))


class WeChatChannel:
    """Reads callbacks and renders passive replies; `send` pushes through an injected client."""

    name: ChannelName = "wechat"

    def __init__(
        self,
        *,
        app_id: str,
        token: str,
        aes_key: str | None,
        client: WeChatApiClient | None,
        template_id: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.app_id = app_id
        self._token = token
        self._crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        self.client = client
        self.template_id = template_id
        self._clock = clock

    # -- callbacks ------------------------------------------------------------------------------

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The server URL check: answer `echostr` if the signature is ours."""
        self._check_signature(CallbackParams.of(query))
        return query.get("echostr", "")

    def read_callback(self, body: bytes, query: Mapping[str, str]) -> Callback:
        params = CallbackParams.of(query)
        self._check_signature(params)
        refuse_dangerous_xml(body)
        text = body.decode("utf-8", "replace")
        if params.encrypt_type != "aes":
            return parse_message_xml(text)
        if self._crypto is None:
            # Compatible mode without our AES key: the plaintext fields are in the same body.
            return parse_message_xml(text)
        try:
            plain = self._crypto.decrypt_message(text, params.msg_signature or "", params.timestamp, params.nonce)
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise InvalidSignatureError("msg_signature or app id does not match") from exc
        except Exception as exc:  # a body without Encrypt, or ciphertext that does not decrypt
            raise MalformedPayloadError(f"cannot decrypt the callback: {type(exc).__name__}") from exc
        callback = parse_message_xml(plain)
        return Callback(callback.message, openid=callback.openid, account=callback.account, encrypted=True)

    def passive_reply(self, callback: Callback, reply: Reply, query: Mapping[str, str]) -> str:
        """The XML answering the callback itself, encrypted when the callback was."""
        xml = TextReply(source=callback.account, target=callback.openid, content=reply.as_text()).render()
        if callback.encrypted and self._crypto is not None:
            params = CallbackParams.of(query)
            return str(self._crypto.encrypt_message(xml, params.nonce, params.timestamp or str(int(time.time()))))
        return str(xml)

    def _check_signature(self, params: CallbackParams) -> None:
        try:
            check_signature(self._token, params.signature, params.timestamp, params.nonce)
        except InvalidSignatureException as exc:
            raise InvalidSignatureError("signature does not match") from exc

    # -- pushes -----------------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> str | None:
        return await anyio.to_thread.run_sync(self._send, delivery)

    def _send(self, delivery: Delivery) -> str | None:
        if self.client is None:
            raise DeliveryError("WeChat app id/secret not configured: cannot push", retryable=False)
        client, text, openid = self.client, delivery.reply.as_text(), delivery.chat_id
        if self._window_open(delivery.last_inbound_at):
            try:
                return self._call(lambda: client.message.send_text(openid, text))
            except _WindowClosedError:
                pass  # WeChat counts the window differently from us: the template is the way
        if not self.template_id:
            raise DeliveryError("outside WeChat's 48-hour window and no template configured", retryable=False)
        template_id = self.template_id
        data = {TEMPLATE_FIELD: {"value": text}}
        return self._call(lambda: client.message.send_template(openid, template_id, data))

    def _window_open(self, last_inbound_at: datetime | None) -> bool:
        return last_inbound_at is not None and self._clock() - last_inbound_at < REPLY_WINDOW - WINDOW_MARGIN

    def _call(self, request: Callable[[], dict[str, Any]]) -> str | None:
        assert self.client is not None
        for attempt in (1, 2):
            try:
                result = request()
            except WeChatClientException as exc:
                code = exc.errcode
                if code in TOKEN_ERRORS and attempt == 1:
                    self.client.tokens.renew(rejected=self.client.last_token or "")
                    continue
                raise _delivery_error(exc) from exc
            except requests.RequestException as exc:  # timeouts, refused connections
                raise DeliveryError(f"WeChat unreachable: {type(exc).__name__}", retryable=True) from exc
            msgid = result.get("msgid") if isinstance(result, dict) else None
            return str(msgid) if msgid else None
        raise DeliveryError("WeChat kept rejecting a fresh access token", retryable=True)


class _WindowClosedError(DeliveryError):
    pass


def _delivery_error(exc: WeChatClientException) -> DeliveryError:
    code = exc.errcode
    if code is None:  # an HTTP error before WeChat answered with JSON
        status = exc.response.status_code if exc.response is not None else 0
        return DeliveryError(f"WeChat HTTP {status}", retryable=status >= 500 or status in (0, 408, 429))
    message = f"WeChat errcode {code}: {exc.errmsg}"
    if code in WINDOW_CLOSED:
        return _WindowClosedError(message, retryable=False)
    if code == 45009:  # the daily API quota
        return DeliveryError(message, retryable=True, retry_after=600)
    if code in GIVE_UP:
        return DeliveryError(message, retryable=False)
    return DeliveryError(message, retryable=True)  # -1 "system busy" and the unknown
