"""Test doubles for our own seams: a scripted NLU and channels that record what they were asked to send."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from handoff.errors import DeliveryError
from handoff.messages import ChannelName, Delivery
from nlu.types import (
    Analysis,
    AnalysisContext,
    Category,
    DialogueAct,
    FaqAnswer,
    Location,
    Place,
    RequestType,
    Urgency,
)

CHAOYANG = Place("朝阳区", "110105", "朝阳区")
WANGJING = Place("望京街道", "110105026", "望京")


class FakeNlu:
    """Understands a handful of fixed phrases, enough to drive every branch of the engine."""

    categories = ("城乡建设", "环境保护", "交通运输", "劳动和社会保障", "卫生计生", "教育文体", "商贸旅游")

    def __init__(self) -> None:
        self.contexts: list[AnalysisContext | None] = []

    def prepare(self, texts: Sequence[str]) -> None:
        """Nothing to share between texts."""

    def analyze(self, text: str, context: AnalysisContext | None = None) -> Analysis:
        self.contexts.append(context)
        act = DialogueAct.NONE
        if "转人工" in text:
            act = DialogueAct.HUMAN
        elif "我的工单" in text:
            act = DialogueAct.STATUS_QUERY
        elif text.strip() in ("你好", "您好"):
            act = DialogueAct.GREETING
        elif text.strip() in ("谢谢", "多谢"):
            act = DialogueAct.THANKS
        elif text.strip() in ("不用了", "不是"):
            act = DialogueAct.DENY
        district = CHAOYANG if ("朝阳" in text or "望京" in text) else None
        street = WANGJING if "望京" in text else None
        address = "阜通东大街6号楼" if "阜通东大街6号楼" in text else ""
        faq = None
        request_type = RequestType.COMPLAIN
        if "居住证" in text:
            request_type = RequestType.ASK
            faq = FaqAnswer("faq-juzhuzheng", "居住证怎么办理", "携带身份证到居住地派出所申请。", "北京市公安局", 0.93)
        elif "表扬" in text:
            request_type = RequestType.PRAISE
        category = Category("城乡建设", 0.97, False) if "垃圾" in text else None
        urgent_cue = next((cue for cue in ("燃气味", "被困") if cue in text), None)
        pin = context and context.latitude is not None
        location = Location(
            district=district,
            street=street,
            address=address,
            latitude=context.latitude if pin and context else None,
            longitude=context.longitude if pin and context else None,
        )
        return Analysis(
            text=text,
            request_type=request_type,
            request_type_confidence=0.9,
            category=category,
            location=location,
            urgency=Urgency(urgent_cue is not None, urgent_cue),
            faq=faq,
            act=act,
            ticket_numbers=tuple(re.findall(r"20\d{11}", text)),
            phone_numbers=tuple(re.findall(r"1[3-9]\d{9}", text)),
        )


@dataclass
class RecordingChannel:
    """Records deliveries; can be told to fail the next N sends, as a platform would."""

    name: ChannelName = "web"
    sent: list[Delivery] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)
    attempts: int = 0

    async def send(self, delivery: Delivery) -> str | None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(delivery)
        return f"p-{len(self.sent)}"
