"""Dialogue acts: moves about the conversation itself (greeting, status query, human, yes/no ...).

A message is an act only when the act is all it says: 「你好，我家楼下垃圾三天没人清」 is a complaint
that happens to greet, so its act is NONE. Rules, not a model: these phrases are few and fixed,
and a rule that is wrong is easy to see and fix.
"""

from __future__ import annotations

import re

from .types import DialogueAct

_FILLER = r"[\s,.!?~，。！？、…：:；;]*"
_POLITE = r"(?:请问|请|麻烦|帮我|帮忙|您好|你好|喂|哎|嗯|那个)?"


def _whole(pattern: str) -> re.Pattern[str]:
    return re.compile(
        rf"^{_FILLER}{_POLITE}{_FILLER}(?:{pattern}){_FILLER}(?:谢谢|好吗|可以吗|吧|呢|啊|呀|哈|了)?{_FILLER}$"
    )


_GREETING = _whole(r"你好|您好|hi|hello|哈喽|嗨|在吗|在不在|有人吗|早上好|上午好|下午好|晚上好|早|喂")
_THANKS = _whole(
    r"(?:非常|太|十分)?(?:谢谢|感谢|多谢|谢了|thanks?|thank you)(?:你|您|你们|您们)?(?:了|啦)?|辛苦了|麻烦你了|好的谢谢|好的,?谢谢"
)
_AFFIRM = _whole(r"是|是的|对|对的|对呀|没错|好|好的|好滴|行|可以|嗯|嗯嗯|ok|yes|确认|确定|正确|就是|是这样")
_DENY = _whole(r"不是|不对|不|没有|不用|不用了|不需要|算了|no|错了|不是的|否")
_HUMAN = re.compile(r"转人工|人工客服|人工服务|找人工|要人工|真人|接线员|话务员|客服人员|找个人|人工$|^人工")
_HELP = _whole(
    r"帮助|help|怎么用|如何使用|怎么使用|你能做什么|你会什么|能干什么|有什么功能|菜单|使用说明|怎么操作"
)
_STATUS = re.compile(
    r"(?:工单|诉求|投诉|反映|举报|问题|事情|事儿|申请|单子).{0,6}(?:怎么样|如何|进度|进展|处理到|办到|到哪|结果|有回复|回复了|办了没|处理了没|解决了没|有结果)"
    r"|(?:查|查询|查一下|看看|问问|问一下)(?:一下)?.{0,4}(?:进度|进展|处理结果|办理情况|工单)"
    r"|(?:办|处理)得?(?:怎么样|咋样|如何)了?"
    r"|^(?:进度|进展|处理进度|办理进度)"
    r"|有(?:结果|回复|进展)了?(?:吗|没)"
    r"|^(?:我的|查)(?:工单|诉求|投诉|单子)(?:呢|状态|情况)?$"  # the bot's own prompt: 「发『我的工单』查询进度」
)
# A message this long is about something, not only a social move.
_MAX_SOCIAL_LENGTH = 16


def dialogue_act(text: str, *, has_ticket_number: bool) -> DialogueAct:
    lowered = text.lower()
    if _STATUS.search(lowered) or (has_ticket_number and len(lowered) <= 40):
        return DialogueAct.STATUS_QUERY
    if _HUMAN.search(lowered) and len(lowered) <= 30:
        return DialogueAct.HUMAN
    if len(lowered) > _MAX_SOCIAL_LENGTH:
        return DialogueAct.NONE
    for pattern, act in (
        (_GREETING, DialogueAct.GREETING),
        (_THANKS, DialogueAct.THANKS),
        (_DENY, DialogueAct.DENY),
        (_AFFIRM, DialogueAct.AFFIRM),
        (_HELP, DialogueAct.HELP),
    ):
        if pattern.match(lowered):
            return act
    return DialogueAct.NONE
