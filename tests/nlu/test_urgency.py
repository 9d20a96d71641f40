from __future__ import annotations

import pytest

from nlu import Nlu


@pytest.mark.parametrize(
    "text",
    [
        "家里进水了，水已经到膝盖",
        "楼道里有很大的燃气味",
        "桥下积水很深，有车被困",
        "我家老人一个人被困在电梯里",
        "下雪了家里暖气不热，冻得受不了",
        "暴雨中一位老人被困在车里",
        "地下车库进水了",
        "电梯困人了",
        "我家孩子发高烧，社区医院关门了",
        "小区的大树要倒了",
        "我要投诉物业不给供暖，家里只有12度",
        "小区门口井盖丢了，晚上很危险",
    ],
)
def test_urgent(nlu_model: Nlu, text: str) -> None:
    result = nlu_model.analyze(text)
    assert result.urgency.urgent and result.urgency.cue


@pytest.mark.parametrize(
    "text",
    [
        "请问供暖费怎么交",
        "小区门口垃圾桶满了",
        "家里没有燃气味了，谢谢",
        "小区门口有点积水",
        "这个月燃气费太贵",
        "隔壁在装修太吵了",
        "请问供暖什么时候开始",
    ],
)
def test_not_urgent(nlu_model: Nlu, text: str) -> None:
    assert not nlu_model.analyze(text).urgency.urgent
