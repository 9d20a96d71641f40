"""`hotline nlu eval`: every task measured on data it was not tuned on, with a baseline beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .datasets import SHORT_LENGTH, is_held_out, read_csv, request_type_examples
from .pipeline import DATA_DIR, Nlu
from .request_type import RequestTypeReader, request_type_by_rules
from .types import AnalysisContext, RequestType

REQUEST_TYPES = [t.value for t in RequestType]


def category_report(nlu: Nlu, shared: Path, *, baseline: bool = True) -> Iterator[str]:
    """Macro-F1 on dev in four forms (segmented, desegmented, original, chat-length) and on written chat."""
    dev = read_csv(shared / "complaints" / "dev.csv")
    raw = [row for row in dev if row.get("raw_text", "").strip()]
    chat = read_csv(DATA_DIR / "category_chat.tsv", "\t")
    sets = {
        "dev segmented": ([r["text_segmented"] for r in dev], [r["label"] for r in dev]),
        "dev desegmented": ([r["text_desegmented"] for r in dev], [r["label"] for r in dev]),
        "dev original text": ([r["raw_text"] for r in raw], [r["label"] for r in raw]),
        f"dev first {SHORT_LENGTH} chars": (
            [r["text_desegmented"][:SHORT_LENGTH] for r in dev],
            [r["label"] for r in dev],
        ),
        "chat (written)": ([r["text"] for r in chat], [r["label"] for r in chat]),
    }
    labels = list(nlu.categories)
    baseline_predict = _baseline_category(shared) if baseline else None
    from .metrics import macro_f1, report

    summary = [f"{'set':<24}{'n':>6}{'model':>10}{'baseline':>10}"]
    for name, (texts, gold) in sets.items():
        predicted = [_category_label(nlu, text) for text in texts]
        yield report(f"category · {name}", gold, predicted, labels)
        base = macro_f1(gold, baseline_predict(texts), labels) if baseline_predict else float("nan")
        summary.append(f"{name:<24}{len(gold):>6}{macro_f1(gold, predicted, labels):>10.4f}{base:>10.4f}")
    yield (
        "== category macro-F1 (baseline: char 1-3-gram TF-IDF + LinearSVC on train desegmented, same run)\n"
        + "\n".join(summary)
    )


def _category_label(nlu: Nlu, text: str) -> str:
    category = nlu.classify(text)
    return category.label if category else ""


def _baseline_category(shared: Path):  # type: ignore[no-untyped-def]
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    train = read_csv(shared / "complaints" / "train.csv")
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
    matrix = vectorizer.fit_transform([r["text_desegmented"] for r in train])
    model = LinearSVC(C=1.0, random_state=0).fit(matrix, [r["label"] for r in train])
    return lambda texts: list(model.predict(vectorizer.transform(texts)))


def request_type_report(nlu: Nlu) -> Iterator[str]:
    from .metrics import report

    held_out = [e for e in request_type_examples() if is_held_out(e.text)]
    gold = [e.label for e in held_out]
    texts = [nlu.normalize(e.text) for e in held_out]
    yield report(
        "request type · held-out · cue rules alone (baseline)",
        gold,
        [request_type_by_rules(t)[0].value for t in texts],
        REQUEST_TYPES,
    )
    model_only = RequestTypeReader(nlu.request_type_reader.model, rule_weight=0.0)
    if nlu.request_type_reader.model is not None:
        yield report(
            "request type · held-out · trained model alone",
            gold,
            [model_only(t)[0].value for t in texts],
            REQUEST_TYPES,
        )
    yield report(
        "request type · held-out · as shipped (mix)",
        gold,
        [nlu.analyze(e.text).request_type.value for e in held_out],
        REQUEST_TYPES,
    )


def faq_report(nlu: Nlu) -> Iterator[str]:
    """Accuracy on answerable paraphrases, and wrong answers among all queries and among unanswerable ones."""
    rows = read_csv(DATA_DIR / "faq" / "queries.tsv", "\t")
    for part, selected in (("tuning part", False), ("held-out part", True)):
        queries = [r for r in rows if is_held_out(r["query"]) is selected]
        for mode in ("retrieval", "analyze"):
            right = wrong = wrong_unanswerable = 0
            for row in queries:
                if mode == "retrieval":
                    answer = nlu.faq.answer(nlu.normalize(row["query"]))
                else:
                    answer = nlu.analyze(row["query"]).faq
                if answer is None:
                    continue
                if answer.faq_id == row["faq_id"]:
                    right += 1
                else:
                    wrong += 1
                    wrong_unanswerable += int(not row["faq_id"])
            answerable = sum(1 for r in queries if r["faq_id"])
            unanswerable = len(queries) - answerable
            yield (
                f"== faq · {part} · {mode}: n={len(queries)} ({answerable} answerable, {unanswerable} not) "
                f"accuracy on answerable={right / max(answerable, 1):.3f} "
                f"wrong-answer rate={wrong / max(len(queries), 1):.3f} "
                f"wrong on unanswerable={wrong_unanswerable}/{unanswerable}"
            )


def location_report(shared: Path, *, limit: int | None = None, baselines: bool = True) -> Iterator[str]:
    from .location_eval import (
        country_gazetteer,
        cpca_parser,
        evaluate,
        format_counts,
        jionlp_parser,
        our_parser,
    )

    parsers = {"hotline": our_parser(country_gazetteer(shared))}
    if baselines:
        for name, make in (("jionlp", jionlp_parser), ("cpca", cpca_parser)):
            try:
                parsers[name] = make()
            except ImportError:
                yield f"({name} not installed: pip install 'hotline[eval]')"
    path = shared / "addresses" / "ccks2021_dev.jsonl"
    counts = evaluate(path, parsers, limit=limit)
    rows = sum(1 for _ in path.open(encoding="utf-8")) if limit is None else limit
    yield (
        f"== location · CCKS 2021 dev ({rows} rows), whole-country gazetteer, exact span P/R/F1 per level\n"
        + format_counts(counts)
    )


def beijing_location_cases(nlu: Nlu) -> Iterator[str]:
    """The Beijing chat cases the conversation engine relies on (also asserted in tests)."""
    cases = read_csv(DATA_DIR / "location_cases.tsv", "\t")
    right = 0
    for case in cases:
        location = nlu.analyze(case["text"], AnalysisContext(awaiting="location")).location
        got = location.admin_code or ""
        right += int(got == case["code"])
    yield f"== location · Beijing chat cases: {right}/{len(cases)} resolved to the expected code"


def urgency_report(nlu: Nlu) -> Iterator[str]:
    """Urgent or not on `data/urgency_cases.tsv`: real board titles and written chat messages."""
    from .metrics import report

    cases = read_csv(DATA_DIR / "urgency_cases.tsv", "\t")
    gold = ["urgent" if case["urgent"] == "1" else "not urgent" for case in cases]
    predicted = ["urgent" if nlu.analyze(case["text"]).urgency.urgent else "not urgent" for case in cases]
    yield report("urgency · board titles and written messages", gold, predicted, ["urgent", "not urgent"])
