from __future__ import annotations

import json

import pytest

from nlu import Nlu
from nlu.datasets import is_held_out, read_csv
from nlu.pipeline import DATA_DIR


def test_knowledge_base_is_complete() -> None:
    rows = [json.loads(line) for line in (DATA_DIR / "faq.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 80
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["question"] and row["answer"] and row["source"] and row["last_checked"]


@pytest.mark.parametrize(
    ("query", "faq_id"),
    [
        ("请问北京居住证怎么办理", "residence-permit-apply"),
        ("暖气几号开始来", "heating-season"),
        ("剩菜剩饭扔哪个颜色的桶", "garbage-kitchen"),
        ("租房可以提取公积金吗", "hpf-rent"),
    ],
)
def test_answers_paraphrases(nlu_model: Nlu, query: str, faq_id: str) -> None:
    answer = nlu_model.analyze(query).faq
    assert answer is not None and answer.faq_id == faq_id and answer.source


@pytest.mark.parametrize(
    "query",
    [
        "北京哪家烤鸭好吃",
        "楼下饭馆天天半夜营业太吵了",
        "楼道里有很大的燃气味",  # urgent: an operator, not a FAQ
        "我的工单怎么样了",
        "电动车电池着火了",
    ],
)
def test_stays_silent(nlu_model: Nlu, query: str) -> None:
    assert nlu_model.analyze(query).faq is None


def test_held_out_accuracy_and_wrong_answer_rate(nlu_model: Nlu) -> None:
    rows = [r for r in read_csv(DATA_DIR / "faq" / "queries.tsv", "\t") if is_held_out(r["query"])]
    answers = [(r["faq_id"], nlu_model.faq.answer(nlu_model.normalize(r["query"]))) for r in rows]
    answerable = [(gold, a) for gold, a in answers if gold]
    right = sum(1 for gold, a in answerable if a is not None and a.faq_id == gold)
    wrong = sum(1 for gold, a in answers if a is not None and a.faq_id != gold)
    assert right / len(answerable) >= 0.8
    assert wrong / len(answers) <= 0.08
