from __future__ import annotations

import pytest

from nlu import DialogueAct, Nlu


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("我的工单怎么样了", DialogueAct.STATUS_QUERY),
        ("查一下进度", DialogueAct.STATUS_QUERY),
        ("我的工单", DialogueAct.STATUS_QUERY),
        ("查工单", DialogueAct.STATUS_QUERY),
        ("2026112300123 办得怎么样", DialogueAct.STATUS_QUERY),
        ("我上周反映的问题有结果了吗", DialogueAct.STATUS_QUERY),
        ("转人工", DialogueAct.HUMAN),
        ("我要找人工客服", DialogueAct.HUMAN),
        ("你好", DialogueAct.GREETING),
        ("您好！", DialogueAct.GREETING),
        ("是的", DialogueAct.AFFIRM),
        ("对", DialogueAct.AFFIRM),
        ("好", DialogueAct.AFFIRM),
        ("不是", DialogueAct.DENY),
        ("不用了", DialogueAct.DENY),
        ("谢谢", DialogueAct.THANKS),
        ("非常感谢！", DialogueAct.THANKS),
        ("怎么用", DialogueAct.HELP),
        ("你好，我家楼下垃圾三天没人清理", DialogueAct.NONE),
        ("你好，朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理", DialogueAct.NONE),
    ],
)
def test_dialogue_acts(nlu_model: Nlu, text: str, act: DialogueAct) -> None:
    assert nlu_model.analyze(text).act is act


def test_ticket_and_phone_numbers(nlu_model: Nlu) -> None:
    result = nlu_model.analyze("工单2026112300123，我的电话13812345678，座机010-62345678")
    assert result.ticket_numbers == ("2026112300123",)
    assert result.phone_numbers == ("13812345678", "01062345678")


def test_ticket_number_is_not_a_phone(nlu_model: Nlu) -> None:
    result = nlu_model.analyze("2026112300123")
    assert result.ticket_numbers == ("2026112300123",)
    assert result.phone_numbers == ()
    assert result.act is DialogueAct.STATUS_QUERY
