"""Urgency: danger to people or homes, marked by the words that show it.

Urgent matters are dispatched first (the seeds: flooding cleared 20 minutes after dispatch, an
elderly person stranded in the rain). A cue list, not a model: the set of dangers is short and an
operator must be able to see why a message jumped the queue. Negations ("没有燃气味") are respected.
"""

from __future__ import annotations

import re

from .types import Urgency

_CUES: tuple[tuple[str, str], ...] = (
    # water coming in, flooding
    (
        "water",
        r"(?:家里|屋里|房间|室内|地下室|楼道|车库|屋子|家)(?:里)?(?:进水|灌水|被淹|淹了|漫水|泡水)|进水了|漏水严重|水漫|(?:路|道路|马路|桥下|隧道|小区|村)(?:面)?(?:被)?(?:淹|积水很深|积水严重|积水没过|成河)|积水(?:没过|齐腰|到膝盖|过膝|很深|严重)|内涝|水管爆|爆管|管道爆裂|暴雨.{0,6}(?:淹|困|倒灌)|倒灌",
    ),
    # gas, fire, smoke
    (
        "gas",
        r"燃气味|煤气味|天然气味|闻到.{0,4}(?:燃气|煤气|天然气|气味很大)|燃气泄漏|煤气泄漏|天然气泄漏|漏气|煤气中毒|一氧化碳",
    ),
    ("fire", r"着火|起火|失火|火灾|冒烟|浓烟|烧起来|爆炸"),
    # people in danger
    (
        "trapped",
        r"被困|困在|困住|出不来|关在电梯|电梯.{0,4}(?:困|关)|受困|被锁在|坠楼|落水|溺水|跳楼|轻生|晕倒|昏倒|昏迷|不省人事|出血|受伤了|呼吸困难|摔倒.{0,3}起不来|卡在.{0,6}(?:里面有人|有人)|打架|斗殴|持刀|威胁.{0,4}生命",
    ),
    (
        "vulnerable",
        r"(?:老人|老太太|老大爷|老大娘|孩子|小孩|婴儿|孕妇|残疾人|瘫痪).{0,8}(?:没人管|无人照顾|走失|丢了|找不到|被困|摔倒|摔了|发烧|高烧|抽搐|冻|饿|危险|独自在家|锁在|没有大人|没大人)|走失",
    ),
    # heating, water, power cut in winter
    (
        "cold",
        r"(?:暖气|供暖|采暖|暖气片)(?:不热|不暖|冰凉|停了|没了|没有|不来|坏了|冰冷)|没(?:有)?(?:暖气|供暖)|停暖|不给供暖|(?:只有|才|室温)(?:[0-9]|1[0-5])度|家里(?:很|太|特别)?冷|冻得|冻死|冻坏",
    ),
    (
        "outage",
        r"停水.{0,6}(?:天|小时|月)|停电.{0,6}(?:天|小时)|全楼停水|全楼停电|没水喝|无法正常用水|用不上水",
    ),
    # structural danger
    (
        "collapse",
        r"塌了|坍塌|倒塌|塌陷|要塌|摇摇欲坠|随时(?:可能)?(?:倒|塌|掉)|要倒|快倒|砸到|砸伤|高空坠物|井盖(?:丢|没了|缺失)|电线(?:掉|断|垂)|漏电|触电",
    ),
)
_NEGATION = re.compile(r"(?:没有|没|无|不是|并非|未)$")
_COMPILED = tuple((kind, re.compile(pattern)) for kind, pattern in _CUES)
# Cues that are only urgent with a negation inside them ("没有暖气") must not be re-negated.
_WINTER_WORDS = ("冬", "冷", "零下", "降温", "寒")


def urgency(text: str) -> Urgency:
    for kind, pattern in _COMPILED:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 2) : match.start()]
            if _NEGATION.search(before):
                continue
            if kind == "cold" and not _is_heating_season_complaint(text, match.group(0)):
                continue
            return Urgency(urgent=True, cue=match.group(0))
    return Urgency(urgent=False)


def _is_heating_season_complaint(text: str, cue: str) -> bool:
    """No heating is urgent in winter; a heating-fee question is not."""
    if "冷" in cue or "冻" in cue:
        return True
    return any(word in text for word in _WINTER_WORDS) or "暖气" in cue or "供暖" in cue
