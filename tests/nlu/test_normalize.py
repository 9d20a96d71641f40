from __future__ import annotations

from nlu import Nlu


def test_traditional_full_width_emoji(nlu_model: Nlu) -> None:
    assert nlu_model.normalize("朝陽區ＡＢＣ１２３😡😡！！！") == "朝阳区ABC123!"
    assert nlu_model.normalize("我的工單怎麼樣了") == "我的工单怎么样了"
    assert nlu_model.normalize("著名的乾隆") == "著名的乾隆"  # standard Simplified characters stay


def test_acts_survive_noise(nlu_model: Nlu) -> None:
    assert nlu_model.analyze("轉人工🙏").act.value == "human"
    assert nlu_model.analyze("謝謝！！！").act.value == "thanks"
