"""The part of an address below the community: road, number, building, landmark, as written."""

from __future__ import annotations

import re

_NUMBER = r"(?:[0-9]+|[一二三四五六七八九十百零两]+)"
# A road, lane, compound or landmark name ends in one of these words.
_PLACE_WORD = (
    r"(?:大街|大道|西路|东路|南路|北路|中路|路|街|胡同|巷|条|里|桥|环路|小区|家园|花园|公寓|大厦|广场|公园"
    r"|医院|小学|中学|学校|幼儿园|市场|商场|超市|地铁站|公交站|车站|站|院|苑|园|城|府|湾|庭|居|村|屯|营|庄|区)"
)
_UNIT = r"(?:号楼|号院|号|栋|幢|座|单元|层|楼|室|排|门|区|期)"
_PART = rf"(?:[东西南北中]?{_NUMBER}{_UNIT}|[A-Za-z]{_UNIT}?|甲{_NUMBER}号|附近|对面|旁边|门口|东侧|西侧|南侧|北侧)"
# Characters that end an address: verbs and particles that start the complaint itself.
_STOP = "的了在有是把被让给从向对我你他她它们都也就还又很太不没要想请能会说和与及或但这那哪啥呢吧吗啊呀"

_NAME = rf"[^\s{_STOP}，。！？、；：,.!?;:()（）\"'“”‘’0-9]"
# Starting right after an administrative mention: a short name ending in a place word, then numbers.
ADDRESS_AFTER_ADMIN = re.compile(rf"(?:{_NAME}{{0,12}}{_PLACE_WORD})?(?:{_PART})*")
_ROAD_WORDS = ("大街", "大道", "路", "街", "胡同", "巷", "小区", "家园", "花园", "公寓", "大厦")
# Anywhere in the text: must end in a road word and carry a number or a place word.
ADDRESS_ANYWHERE = re.compile(rf"{_NAME}{{1,8}}(?:{'|'.join(_ROAD_WORDS)})(?:{_PART})+")


def address_after(text: str, start: int) -> str:
    """The address as written, right after the last administrative name (ending at `start`)."""
    match = ADDRESS_AFTER_ADMIN.match(text, start)
    value = match.group(0) if match else ""
    return value if len(value) >= 2 else ""


def address_anywhere(text: str) -> tuple[str, int] | None:
    """A road-and-number address with no administrative name before it."""
    if not any(word in text for word in _ROAD_WORDS):  # most texts name no road; the search is slow
        return None
    match = ADDRESS_ANYWHERE.search(text)
    if match is None:
        return None
    return match.group(0), match.start()
