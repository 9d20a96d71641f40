from __future__ import annotations

from pathlib import Path

import pytest

from nlu import Nlu
from nlu.datasets import read_csv
from nlu.metrics import macro_f1
from nlu.pipeline import DATA_DIR

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_written_chat_messages(nlu_model: Nlu) -> None:
    rows = read_csv(DATA_DIR / "category_chat.tsv", "\t")
    predicted = [(c.label if (c := nlu_model.classify(r["text"])) else "") for r in rows]
    assert macro_f1([r["label"] for r in rows], predicted) >= 0.75


@pytest.mark.skipif(not (SHARED / "complaints" / "dev.csv").exists(), reason="needs ../shared/data")
def test_dev_macro_f1_floor(nlu_model: Nlu) -> None:
    dev = read_csv(SHARED / "complaints" / "dev.csv")
    gold = [r["label"] for r in dev]
    for column in ("text_desegmented", "text_segmented"):
        predicted = [(c.label if (c := nlu_model.classify(r[column])) else "") for r in dev]
        assert macro_f1(gold, predicted) >= 0.938  # the char TF-IDF + SVM baseline


def test_confidence_is_a_probability_and_unsure_below_threshold(nlu_model: Nlu) -> None:
    confident = nlu_model.classify("公司拖欠工资三个月了，社保也没交")
    vague = nlu_model.classify("这个事情怎么说呢")
    assert confident is not None and vague is not None
    assert confident.label == "劳动和社会保障" and not confident.unsure
    assert 0.0 <= vague.confidence <= 1.0
    assert vague.unsure == (vague.confidence < 0.6)


def test_no_category_for_dialogue_acts(nlu_model: Nlu) -> None:
    assert nlu_model.analyze("谢谢").category is None
