"""What the hotline says to citizens, in their language. Chinese first; English for those who write it.

Kept in one place so a city can reword them and so every channel says the same thing.
"""

from __future__ import annotations

from typing import Any

from handoff.models import TicketStatus

STATUS_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        TicketStatus.ACCEPTED: "已受理",
        TicketStatus.DISPATCHED: "已派单",
        TicketStatus.SIGNED: "承办单位已签收",
        TicketStatus.IN_PROGRESS: "办理中",
        TicketStatus.RESOLVED: "已办结",
        TicketStatus.SURVEYED: "已回访",
        TicketStatus.ARCHIVED: "已归档",
        TicketStatus.RETURNED: "重新派单中",
        TicketStatus.REOPENED: "二次办理中",
        TicketStatus.CANCELLED: "已撤销",
    },
    "en": {
        TicketStatus.ACCEPTED: "received",
        TicketStatus.DISPATCHED: "sent to the responsible unit",
        TicketStatus.SIGNED: "accepted by the responsible unit",
        TicketStatus.IN_PROGRESS: "being handled",
        TicketStatus.RESOLVED: "handled",
        TicketStatus.SURVEYED: "followed up",
        TicketStatus.ARCHIVED: "archived",
        TicketStatus.RETURNED: "being re-assigned",
        TicketStatus.REOPENED: "being handled again",
        TicketStatus.CANCELLED: "withdrawn",
    },
}

_TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "welcome": (
            "您好，这里是12345市民服务热线。请直接描述您遇到的问题或想咨询的事项，"
            "并说明发生的位置（区、街道/乡镇、小区或门牌号）。\n"
            "查询进度请发「我的工单」或工单编号；需要人工请发「转人工」。"
        ),
        "help": (
            "您可以：\n1. 直接描述问题，例如「朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理」；\n"
            "2. 咨询政策，例如「居住证怎么办理」；\n3. 发「我的工单」或工单编号查询进度；\n"
            "4. 发「转人工」联系话务员。"
        ),
        "ask_location": (
            "收到。为了尽快派给属地处理，请告诉我问题发生的具体位置："
            "所在区、街道/乡镇，以及小区、道路或门牌号。也可以直接发送位置。"
        ),
        "ask_location_again": (
            "还没能识别出位置。请补充所在区和街道/乡镇（例如「朝阳区望京街道」），"
            "或小区、道路和门牌号。发「取消」可放弃本次登记。"
        ),
        "ask_details": "请具体描述一下您遇到的问题或想咨询的事项，我们会尽快为您处理。",
        "draft_cancelled": "好的，本次登记已取消。如有需要，随时再发消息给我们。",
        "ticket_opened": (
            "已为您登记工单，编号 {number}。\n类型：{request_type}｜类别：{category}\n地点：{place}\n"
            "我们将派给相关单位办理，每一步进展都会在这里通知您。查询进度可发「我的工单」。"
        ),
        "ticket_opened_urgent": "已标记为紧急诉求（{cue}），将优先派单处理。如遇人身危险请立即拨打110/119/120。",
        "ticket_opened_no_place": "未提供",
        "handoff": "正在为您转接人工话务员，请稍候。您可以继续补充情况，话务员会看到全部内容。",
        "queued": "您的消息已收到，话务员接入后会回复您。目前您前面还有 {ahead} 位市民在等待。",
        "supplement": "已将您补充的内容加入工单 {number}，会一并转交处理。",
        "faq_answer": "{answer}\n\n（来源：{source}）如仍有疑问，请发「转人工」。",
        "status_none": "您目前没有工单记录。直接描述您遇到的问题即可登记。",
        "status_unknown_number": "没有找到您名下编号为 {number} 的工单，请核对编号。",
        "status_header": "您的工单：",
        "status_line": "{number}｜{summary}｜{status}（更新于 {updated}）",
        "status_more": "另有 {more} 件较早的工单，可发工单编号查询。",
        "status_update": "您的工单 {number} 状态更新：{status}。",
        "status_update_note": "您的工单 {number} 状态更新：{status}。\n{note}",
        "thanks": "不客气，感谢您对城市治理的支持！",
        "deny": "好的。如有其他问题，随时告诉我。",
        "attachment_received": "图片已收到，会附在您的诉求中。",
        "unsubscribed": "",
        "chat_ended": "本次人工服务已结束，感谢您的耐心。如有新的问题，直接发消息给我即可。",
        "unit_result": "您的工单 {number} 承办单位（{unit}）反馈：\n{result}",
        "survey_resolved": "【12345回访】您反映的问题（工单 {number}）已办结。请问问题解决了吗？",
        "survey_satisfaction": "请问您对工单 {number} 的办理结果满意吗？",
        "survey_reopen": "很抱歉没能让您满意。需要为工单 {number} 申请二次办理吗？我们会把您的意见转给承办单位。",
        "survey_reopened": "已为您申请二次办理，工单 {number} 已重新转交承办单位，进展会在这里通知您。",
        "survey_thanks": "感谢您的评价，您的意见会用于改进我们的工作。",
        "enterprise_welcome": (
            "您好，这里是12345企业服务热线。请说明企业名称（或统一社会信用代码）和需要咨询、反映的事项，"
            "例如开办注册、税务发票、社保公积金、惠企政策，我们会优先解答或转企业服务专席办理。"
        ),
        "repeat_linked": "您反映的这个问题已经登记过（工单 {number}，当前状态：{status}），已把您这次的反映补充到该工单，办理人员会一并看到，不再重复立单。",
    },
    "en": {
        "welcome": (
            "Hello, this is the 12345 citizen service hotline. Describe the problem or question and where it "
            "is (district, street, compound or address). Send \"my tickets\" or a ticket number for progress, "
            "\"human\" for an operator."
        ),
        "help": (
            "You can: 1) describe a problem and where it is; 2) ask about a public service; "
            "3) send \"my tickets\" or a ticket number for progress; 4) send \"human\" to reach an operator."
        ),
        "ask_location": (
            "Got it. Where is this? Please give the district and street/town, and the compound, road or "
            "house number, or share a location."
        ),
        "ask_location_again": (
            "I could not find a place in that. Please give the district and street/town (e.g. 朝阳区望京街道) "
            "or an address. Send \"cancel\" to stop."
        ),
        "ask_details": "Please describe the problem or your question, and we will take care of it.",
        "draft_cancelled": "OK, cancelled. Write any time.",
        "ticket_opened": (
            "Your ticket number is {number}.\nType: {request_type} | Category: {category}\nPlace: {place}\n"
            "It goes to the responsible unit; every step will be reported here. Send \"my tickets\" to check."
        ),
        "ticket_opened_urgent": (
            "Marked urgent ({cue}) and dispatched first. If anyone is in danger call 110/119/120 now."
        ),
        "ticket_opened_no_place": "not given",
        "handoff": "Connecting you to an operator. You can keep writing; they will see everything.",
        "queued": "Message received; an operator will reply soon. {ahead} citizens are ahead of you.",
        "supplement": "Added to ticket {number}.",
        "faq_answer": "{answer}\n\n(Source: {source}) Send \"human\" if you need more help.",
        "status_none": "You have no tickets yet. Describe a problem to file one.",
        "status_unknown_number": "No ticket {number} was found under your account.",
        "status_header": "Your tickets:",
        "status_line": "{number} | {summary} | {status} (updated {updated})",
        "status_more": "{more} older tickets not shown; send a ticket number to see one.",
        "status_update": "Ticket {number}: {status}.",
        "status_update_note": "Ticket {number}: {status}.\n{note}",
        "thanks": "You're welcome, thank you!",
        "deny": "OK. Write any time.",
        "attachment_received": "Photo received; it is attached to your request.",
        "unsubscribed": "",
        "chat_ended": "The operator has ended this chat. Write any time for something new.",
        "unit_result": "Ticket {number}, reply from {unit}:\n{result}",
        "survey_resolved": "[12345 follow-up] Ticket {number} has been handled. Was the problem solved?",
        "survey_satisfaction": "How satisfied are you with how ticket {number} was handled?",
        "survey_reopen": "Sorry it was not good enough. Shall we reopen ticket {number} with the same unit?",
        "survey_reopened": "Ticket {number} is reopened and back with the unit; progress will be reported here.",
        "survey_thanks": "Thank you for your feedback.",
        "enterprise_welcome": (
            "This is the 12345 business line. Give the company's name (or credit code) and your question: "
            "registration, tax and invoices, social insurance, business support. A business desk operator follows up."
        ),
        "repeat_linked": "This is already ticket {number} ({status}); your message was added to it.",
    },
}


def language_of(code: str | None) -> str:
    """Our language for a platform language code: English for en*, Chinese otherwise."""
    return "en" if code and code.lower().startswith("en") else "zh"


def say(key: str, language: str = "zh", **values: Any) -> str:
    table = _TEXTS.get(language, _TEXTS["zh"])
    return table[key].format(**values)


def status_label(status: str, language: str = "zh") -> str:
    return STATUS_LABELS.get(language, STATUS_LABELS["zh"]).get(status, status)
