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


class _CountingEncoder:
    def __init__(self, encoder: object) -> None:
        self.encoder, self.calls = encoder, []  # type: ignore[var-annotated]

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return self.encoder.encode(texts)  # type: ignore[attr-defined]


QUESTIONS = ["请问社保卡丢了怎么补办", "公积金怎么提取", "12345是干什么的"]
COMPLAINT = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"


@pytest.fixture
def counted(nlu_model: Nlu):  # type: ignore[no-untyped-def]
    index = nlu_model.faq
    counting = _CountingEncoder(index._encoder)
    index._encoder, original = counting, index._encoder
    yield counting
    index._encoder = original


def test_a_batchs_questions_are_encoded_in_one_call_with_the_same_answers(nlu_model: Nlu, counted) -> None:  # type: ignore[no-untyped-def]
    alone = [nlu_model.analyze(text).faq for text in [*QUESTIONS, COMPLAINT]]
    assert len(counted.calls) == len(QUESTIONS)  # one call a question, none for the complaint
    counted.calls.clear()

    nlu_model.prepare([*QUESTIONS, COMPLAINT])
    together = [nlu_model.analyze(text).faq for text in [*QUESTIONS, COMPLAINT]]
    assert [len(call) for call in counted.calls] == [len(QUESTIONS)]  # the questions in one call, then none
    assert together[-1] is None and all(answer is not None for answer in together[:-1])
    for one, other in zip(alone, together, strict=True):
        assert (one and one.faq_id) == (other and other.faq_id)
        assert one is None or other is None or abs(one.score - other.score) <= 2e-4  # the last bits differ


def test_vectors_encoded_ahead_serve_only_the_thread_that_asked_and_only_once(nlu_model: Nlu, counted) -> None:  # type: ignore[no-untyped-def]
    import threading

    nlu_model.prepare(QUESTIONS[:2])
    other = threading.Thread(target=nlu_model.analyze, args=(QUESTIONS[0],))
    other.start()
    other.join()
    assert [len(call) for call in counted.calls] == [2, 1]  # the other thread encoded its own
    nlu_model.analyze(QUESTIONS[0])
    nlu_model.analyze(QUESTIONS[0])  # used once: asked again, it is encoded again
    assert [len(call) for call in counted.calls] == [2, 1, 1]
    nlu_model.prepare([QUESTIONS[2]])  # one alone: nothing ahead (its own call would cost the same),
    nlu_model.analyze(QUESTIONS[1])  # and what the last prepare left unused is gone
    assert [len(call) for call in counted.calls] == [2, 1, 1, 1]
