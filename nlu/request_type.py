"""Request type (诉求类型) from cue words, scored.

Citizens usually frame their message themselves ("投诉…", "建议…", "请问…"): a framing word at the start
weighs most, then cue words anywhere. The scores are mixed with the trained model's probabilities
(`RequestTypeReader`); alone they are the baseline `nlu eval` prints beside the model.
"""

from __future__ import annotations

import re

from .linear import LinearTextModel, Ngrams
from .types import RequestType

# (type, pattern, weight). A match at the very start of the message counts double.
_CUES: tuple[tuple[RequestType, str, float], ...] = (
    (
        RequestType.PRAISE,
        r"表扬|点赞|点个赞|锦旗|做得好|做得很好|非常满意|很满意|服务(?:太|很|特别)好|给力|暖心|负责任",
        2.0,
    ),
    (
        RequestType.PRAISE,
        r"(?:感谢|谢谢|多谢).{0,20}(?:解决|修好|排干|清理|办好|帮|及时|赶到|耐心|照顾|找到|回来)|(?:解决|修好|清理)了.{0,8}(?:感谢|谢谢)",
        2.0,
    ),
    (RequestType.REPORT, r"举报|揭发|曝光", 3.0),
    (
        RequestType.REPORT,
        r"涉嫌|涉黄|涉赌|传销|诈骗|骗取|非法|违法|违规|违章|违建|私搭乱建|私搭私建|偷税|漏税|偷排|地沟油|假冒|假烟|假酒|冒用|无证|无照|黑诊所|黑车|赌博|集资|虐待|贪污|受贿|侵占|亏空|强占|捂盘|有偿补课|乱收费|变相收|群租|侦查|毁绿|学术不端|一证多址",
        1.0,
    ),
    (RequestType.SUGGEST, r"建议|呼吁|倡议|提个意见|提议", 3.0),
    (
        RequestType.SUGGEST,
        r"希望(?!.{0,6}(?:解决|处理|尽快处理|答复|回复|帮))|能否|能不能(?:在|把|给|多|增|开|设|装|修|延)|可否|可不可以|是否可以考虑|请考虑|盼安装|增设|增开|加开|多开|多建|恢复|延长|优化|加快|加强|完善|规范|反对|改善",
        1.2,
    ),
    (
        RequestType.HELP,
        r"求助|求救|救命|救援|帮帮|求求|急需|何去何从|走失|走丢|失联|被困|困在|出不来|出不去|晕倒|无家可归|联系不上",
        2.5,
    ),
    (
        RequestType.HELP,
        r"请求(?:解决|协调|硬化|关注|帮助|帮忙|政府督促|督促)|请帮|帮忙|帮我|怎么办(?!理)|拿不到|要不回|退还给我|不退|无法正常用水|用水困难|危房改造|申诉",
        1.2,
    ),
    (RequestType.ASK, r"咨询|请问|问一下|问下|想问|询问|想了解|疑问", 3.0),
    (
        RequestType.ASK,
        # Interrogatives; rhetorical 「怎么还没修好」「怎么回事」 are left to the complaint cues.
        (
            r"怎么(?!回事|搞|还|又|能这样|可以这样|这么)|如何|在哪|去哪|哪里|哪儿|哪个|哪些|哪天|往哪|向哪|找谁|什么(?!意思|玩意)"
            r"|多久|多长|多少|几(?:月|号|点|天|岁|年|类|种|个|次)|是否|要不要|能不能|可不可以|可以吗|能.{0,8}吗"
            r"|吗[?？]?$|吗[?？]?。|么[?？]?$|[?？]$|有哪些|标准|条件|流程|政策|要求"
        ),
        0.9,
    ),
    (RequestType.COMPLAIN, r"投诉|反映|不满|差评", 2.0),
    (
        RequestType.COMPLAIN,
        r"扰民|噪音|噪声|太吵|吵得|油烟|恶臭|臭|没人管|无人管|没人清|不作为|推诿|态度(?:恶劣|太差|差)|太差|很差|差劲|坏了|不修|漏水|不热|停水|停电|拖欠|欠薪|不按|乱停|占道|堵|坑坑洼洼|破烂|质量问题|太难|跑路|不给退|拒载|绕路|污染",
        1.0,  # a problem named outweighs a question word: 「暖气不热找谁」 needs a ticket, not a FAQ
    ),
)
_COMPILED = tuple((kind, re.compile(pattern), weight) for kind, pattern, weight in _CUES)
_START = 6  # characters: a framing word this close to the start is the writer's own label


def cue_scores(text: str) -> dict[RequestType, float]:
    scores = dict.fromkeys(RequestType, 0.0)
    for kind, pattern, weight in _COMPILED:
        match = pattern.search(text)
        if match is not None:
            scores[kind] += weight * (2.0 if match.start() < _START else 1.0)
    return scores


def request_type_by_rules(text: str) -> tuple[RequestType, float]:
    scores = cue_scores(text)
    best = max(scores, key=lambda kind: scores[kind])
    total = sum(scores.values())
    if total == 0:
        return RequestType.COMPLAIN, 0.3  # most messages to a hotline are complaints
    return best, round(scores[best] / total, 4)


class RequestTypeReader:
    """Equal mix of the trained model's probabilities and the normalised cue scores."""

    def __init__(self, model: LinearTextModel | None, *, rule_weight: float = 0.5) -> None:
        self._model = model
        self._rule_weight = rule_weight if model is not None else 1.0
        if self._rule_weight == 0.0 and model is None:
            raise ValueError("a reader without cue rules needs a model")

    @property
    def model(self) -> LinearTextModel | None:
        return self._model

    def __call__(self, text: str, grams: Ngrams | None = None) -> tuple[RequestType, float]:
        scores = cue_scores(text)
        total = sum(scores.values())
        mixed = {kind: 0.0 for kind in RequestType}
        if total > 0:
            for kind, score in scores.items():
                mixed[kind] += self._rule_weight * score / total
        else:
            mixed[RequestType.COMPLAIN] += self._rule_weight * 0.5
        if self._model is not None:
            for label, probability in self._model.predict(text, grams).probabilities.items():
                mixed[RequestType(label)] += (1 - self._rule_weight) * probability
        best = max(mixed, key=lambda kind: mixed[kind])
        return best, round(mixed[best] / (sum(mixed.values()) or 1.0), 4)
