"""The contract the conversation nlu_model relies on, on real sentences."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import nlu
from nlu import AnalysisContext, DialogueAct, Nlu, RequestType

DEMO = "朝阳区望京街道阜通东大街6号楼下垃圾堆了三天没人清理"


def test_exports() -> None:
    assert sorted(nlu.__all__) == nlu.__all__
    for name in ("load", "Nlu", "analyze", "Analysis", "AnalysisContext", "Place", "Location"):
        assert hasattr(nlu, name)


def test_demo_sentence(nlu_model: Nlu) -> None:
    result = nlu_model.analyze(DEMO)
    assert result.request_type is RequestType.COMPLAIN
    assert result.category is not None and result.category.label == "城乡建设"
    assert result.location.district is not None
    assert (result.location.district.name, result.location.district.code) == ("朝阳区", "110105")
    assert result.location.street is not None
    assert (result.location.street.name, result.location.street.code) == ("望京街道", "110105026")
    assert "阜通东大街6号楼" in result.location.address
    assert result.act is DialogueAct.NONE


def test_module_level_analyze_uses_a_default_instance() -> None:
    assert nlu.analyze("你好").act is DialogueAct.GREETING
    assert nlu.default() is nlu.default()


def test_categories_are_the_taxonomy_top_level(nlu_model: Nlu) -> None:
    assert set(nlu_model.categories) == {
        "城乡建设",
        "劳动和社会保障",
        "教育文体",
        "商贸旅游",
        "环境保护",
        "卫生计生",
        "交通运输",
    }


def test_load_is_fast() -> None:
    # Imports are paid by the session fixture; the bounds leave room for a busy CI machine.
    started = time.perf_counter()
    nlu.load(sentence_encoder=False)
    assert time.perf_counter() - started < 1.5
    started = time.perf_counter()
    nlu.load()
    assert time.perf_counter() - started < 5.0


def test_missing_model_directory_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        nlu.load(tmp_path)


def test_traditional_full_width_and_emoji_read_the_same(nlu_model: Nlu) -> None:
    plain = nlu_model.analyze(DEMO)
    for variant in (
        "朝陽區望京街道阜通東大街6號樓下垃圾堆了三天沒人清理",
        "朝阳区望京街道阜通东大街６号楼下垃圾堆了三天没人清理😡😡！！！",
        "🙏 朝阳区 望京街道 阜通东大街6号楼下垃圾堆了三天没人清理。。。",
    ):
        result = nlu_model.analyze(variant)
        assert result.location.street == plain.location.street
        assert result.category is not None and plain.category is not None
        assert result.category.label == plain.category.label


def test_analyze_is_fast(nlu_model: Nlu) -> None:
    nlu_model.analyze(DEMO)
    started = time.perf_counter()
    for _ in range(200):
        nlu_model.analyze(DEMO)
    assert (time.perf_counter() - started) / 200 < 0.01


def test_awaiting_location_bare_answer(nlu_model: Nlu) -> None:
    result = nlu_model.analyze("望京", AnalysisContext(awaiting="location"))
    assert result.location.street is not None and result.location.street.code == "110105026"


def test_char_features_match_sklearn() -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from nlu.linear import LinearTextModel

    docs = ["朝阳区望京街道 垃圾", "请问 居住证怎么办理", "Hello World 12345", "垃圾 垃圾 垃圾"]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True).fit(docs)
    model = LinearTextModel(
        classes=["a"],
        vocabulary=dict(vectorizer.vocabulary_),
        idf=vectorizer.idf_.astype(np.float32),
        coef=np.zeros((len(vectorizer.vocabulary_), 1), np.float32),
        intercept=np.zeros(1, np.float32),
        ngram_range=(1, 3),
        temperature=1.0,
    )
    for doc in [*docs, "新的 文本 垃圾"]:
        indices, values = model.features(doc)
        mine = np.zeros(len(vectorizer.vocabulary_))
        mine[indices] = values
        assert np.abs(vectorizer.transform([doc]).toarray()[0] - mine).max() < 1e-6


def test_places_are_spacy_entities(nlu_model: Nlu) -> None:
    doc = nlu_model.nlp(DEMO)
    assert [(e.text, e.label_) for e in doc.ents] == [("朝阳区", "DISTRICT"), ("望京街道", "STREET")]


def test_operator_corrections_become_examples(tmp_path: Path) -> None:
    from nlu.datasets import extra_examples

    exported = tmp_path / "feedback.jsonl"
    exported.write_text(
        '{"text": "楼下烧烤店半夜太吵", "label": {"request_type": "投诉", "category": "环境保护", "urgent": false}}\n',
        encoding="utf-8",
    )
    plain = tmp_path / "tickets.csv"
    plain.write_text("text,label\n公交车太挤,交通运输\n", encoding="utf-8")
    labels = [e.label for e in extra_examples([exported, plain])]
    assert labels == ["环境保护", "投诉", "交通运输"]


def test_analyze_is_thread_safe(nlu_model: Nlu) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        DEMO,
        "请问北京居住证怎么办理",
        "我的工单怎么样了",
        "楼道里有很大的燃气味",
        "多福巷社区门口有人乱停车",
    ] * 40
    expected = [nlu_model.analyze(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(nlu_model.analyze, texts))
    assert results == expected


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "！！！", "a", "\x00\u200b"])
def test_empty_and_odd_messages(nlu_model: Nlu, text: str) -> None:
    result = nlu_model.analyze(text)
    assert result.category is None and result.location.is_empty and result.faq is None


def test_very_long_message_stays_fast(nlu_model: Nlu) -> None:
    started = time.perf_counter()
    result = nlu_model.analyze("我家在朝阳区望京街道，楼下垃圾没人清理。" * 300)
    assert time.perf_counter() - started < 0.5
    assert result.location.street is not None and result.location.street.code == "110105026"


def _shipped_messages() -> list[str]:
    """The labelled and example messages shipped in nlu/data, and some odd ones."""
    from nlu.datasets import read_csv, request_type_examples
    from nlu.pipeline import DATA_DIR

    texts = [e.text for e in request_type_examples()]
    texts += [r["query"] for r in read_csv(DATA_DIR / "faq" / "queries.tsv", "\t")]
    for name in ("category_chat.tsv", "location_cases.tsv", "urgency_cases.tsv"):
        texts += [r["text"] for r in read_csv(DATA_DIR / name, "\t")]
    return texts + [
        DEMO,
        "朝陽區望京街道阜通東大街6號樓下垃圾堆了三天沒人清理😡😡！！！",
        "我的电话13812345678，工单2026112300123怎么样了",
        "北京某某科技有限公司想咨询开具发票",
        "ΣΊΣΥΦΟΣ Hello WORLD  Ａｂｃ \U000f0041",
        "",
        "a",
    ]


def test_analyze_without_spacy_reads_as_the_spacy_pipeline(nlu_model: Nlu) -> None:
    from nlu.normalize import Normalizer
    from nlu.pipeline import DATA_DIR

    through_spacy = Nlu(nlu_model.nlp, Normalizer.from_file(DATA_DIR / "t2s.json"), through_spacy=True)
    contexts = [
        None,
        AnalysisContext(lane="enterprise"),
        AnalysisContext(latitude=39.9, longitude=116.4, pin_label="北京市朝阳区望京街道阜通东大街6号"),
    ]
    for index, text in enumerate(_shipped_messages()):
        context = contexts[index % len(contexts)]
        assert nlu_model.analyze(text, context) == through_spacy.analyze(text, context), text


def _counted_strings(text: str, ngram_range: tuple[int, int]) -> list[tuple[str, int]]:
    """sklearn's char analyzer as plainly as it can be written: n-gram strings counted in a Counter."""
    from collections import Counter

    text = " ".join(text.lower().split())
    low, high = ngram_range
    grams = Counter([text[i : i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)])
    return list(grams.items())


def _unpacked(code: int) -> str:
    """The characters of a packed n-gram: 21 bits each, code point plus one."""
    chars = []
    while code:
        chars.append(chr((code & (2**21 - 1)) - 1))
        code >>= 21
    return "".join(chars)


@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 3), (1, 1)])
def test_packed_ngrams_are_the_counted_strings_in_order(ngram_range: tuple[int, int]) -> None:
    from nlu.linear import char_ngrams, with_prefix_view

    for text in [*_shipped_messages(), "a lone surrogate: \ud800"]:
        for view in (text, with_prefix_view(text, 20)):
            grams = char_ngrams(view, ngram_range)
            codes, counts = grams.codes[grams.order].tolist(), grams.counts[grams.order].tolist()
            packed = [(_unpacked(code), count) for code, count in zip(codes, counts, strict=True)]
            assert packed == _counted_strings(view, ngram_range), view


def test_longer_ngrams_are_refused() -> None:
    import numpy as np

    from nlu.linear import LinearTextModel

    with pytest.raises(ValueError):
        LinearTextModel(
            classes=["a"],
            vocabulary={"abcd": 0},
            idf=np.ones(1, np.float32),
            coef=np.zeros((1, 1), np.float32),
            intercept=np.zeros(1, np.float32),
            ngram_range=(1, 4),
            temperature=1.0,
        )
