from __future__ import annotations

import pytest

from nlu import Nlu, RequestType
from nlu.datasets import is_held_out, request_type_examples


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请问北京居住证怎么办理", RequestType.ASK),
        ("我要举报小区门口有人开黑车拉活", RequestType.REPORT),
        ("建议在小区门口增设一个公交站", RequestType.SUGGEST),
        ("表扬一下望京街道的工作人员，下雨天帮我们疏通下水道", RequestType.PRAISE),
        ("我家孩子走丢了，在朝阳公园附近，请帮帮我", RequestType.HELP),
        ("楼下饭馆天天半夜还在营业，吵得睡不着", RequestType.COMPLAIN),
        ("朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理", RequestType.COMPLAIN),
    ],
)
def test_request_types(nlu_model: Nlu, text: str, expected: RequestType) -> None:
    result = nlu_model.analyze(text)
    assert result.request_type is expected
    assert 0.0 < result.request_type_confidence <= 1.0


def test_held_out_accuracy_floor(nlu_model: Nlu) -> None:
    held_out = [e for e in request_type_examples() if is_held_out(e.text)]
    assert len(held_out) >= 120
    right = sum(1 for e in held_out if nlu_model.analyze(e.text).request_type.value == e.label)
    assert right / len(held_out) >= 0.75


def test_labelled_set_is_large_enough() -> None:
    examples = request_type_examples()
    assert len(examples) >= 600
    assert {e.label for e in examples} == {t.value for t in RequestType}
