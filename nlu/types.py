"""The values `analyze` returns. Frozen, typed, free of I/O: the contract with `handoff/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class RequestType(StrEnum):
    """诉求类型: what kind of thing the citizen wants."""

    ASK = "咨询"
    HELP = "求助"
    COMPLAIN = "投诉"
    REPORT = "举报"
    SUGGEST = "建议"
    PRAISE = "表扬"


class DialogueAct(StrEnum):
    """Conversation moves that are about the chat itself, not a new matter."""

    NONE = "none"
    GREETING = "greeting"
    STATUS_QUERY = "status_query"  # 「我的工单怎么样了」, or a ticket number
    HUMAN = "human"  # 「转人工」
    AFFIRM = "affirm"  # 「是的」「对」
    DENY = "deny"  # 「不是」「不用了」
    THANKS = "thanks"
    HELP = "help"  # 「怎么用」


@dataclass(frozen=True)
class Category:
    label: str  # a top-level category of the configured taxonomy, e.g. 城乡建设
    confidence: float  # calibrated probability in [0, 1]
    unsure: bool  # below the configured threshold: the operator chooses


@dataclass(frozen=True)
class Place:
    """One administrative level found in the text, with its official name and code."""

    name: str  # official name, e.g. 望京街道
    code: str  # statistics code: 6 digits district, 9 street/town, 12 community
    mention: str  # as the citizen wrote it, e.g. 望京


@dataclass(frozen=True)
class Location:
    district: Place | None = None
    street: Place | None = None  # street (街道) or town (乡镇)
    community: Place | None = None  # 社区 / 村
    address: str = ""  # the rest as written: road, number, building, landmark
    latitude: float | None = None
    longitude: float | None = None

    @property
    def admin_code(self) -> str | None:
        """The most precise code found."""
        for place in (self.community, self.street, self.district):
            if place is not None:
                return place.code
        return None

    @property
    def is_empty(self) -> bool:
        return self.district is None and self.street is None and self.community is None and not self.address


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    cue: str | None = None  # the words that triggered it, e.g. 燃气味


@dataclass(frozen=True)
class FaqAnswer:
    faq_id: str
    question: str
    answer: str
    source: str
    score: float


@dataclass(frozen=True)
class Enterprise:
    """The message is from a business (企业热线): what showed it."""

    cue: str  # e.g. 统一社会信用代码, 北京某某科技有限公司, 我司
    credit_code: str | None = None  # 统一社会信用代码, 18 characters


@dataclass(frozen=True)
class AnalysisContext:
    """What the conversation knows that helps reading one message."""

    awaiting: str | None = None  # the slot the bot just asked for: "location", "contact", ...
    channel: str | None = None
    latitude: float | None = None  # a location pin sent with the message
    longitude: float | None = None
    pin_label: str | None = None
    lane: str | None = None  # "enterprise" when the chat came through the businesses' entry


@dataclass(frozen=True)
class Analysis:
    text: str  # normalised: NFKC, Simplified Chinese
    request_type: RequestType
    request_type_confidence: float
    category: Category | None
    location: Location
    urgency: Urgency
    faq: FaqAnswer | None = None  # set only when confident enough to answer
    act: DialogueAct = DialogueAct.NONE
    ticket_numbers: tuple[str, ...] = ()  # ticket numbers mentioned, e.g. 2026112300123
    phone_numbers: tuple[str, ...] = field(default=(), repr=False)  # never shown in logs
    enterprise: Enterprise | None = None  # set when the writer is a business
