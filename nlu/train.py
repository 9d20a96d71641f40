"""Training the shipped models from ../shared/data and the repo's labelled files (fixed seeds)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .components import assemble, save_meta
from .datasets import complaint_forms, extra_examples, is_held_out, read_csv, request_type_examples
from .normalize import Normalizer
from .pipeline import DATA_DIR
from .training import train_linear
from .types import RequestType

CATEGORY_RECIPE = {
    "kind": "svm+nbsvm",
    "c": 1.0,
    "ngram_range": (1, 3),
    "min_df": 5,
    "max_features": None,
    "prefix_view": 20,
    "class_bias": True,  # per-class offsets fitted on out-of-fold train scores for macro-F1  # the title's n-grams count separately (tried 0, 20, 40 on dev: 20 best, +0.2 to +0.5 points)
}
REQUEST_TYPE_RECIPE = {"kind": "svm", "c": 0.5, "ngram_range": (1, 3), "min_df": 1, "max_features": None}


def train_all(shared: Path, out: Path, extra: Sequence[Path] = ()) -> Iterator[str]:
    """Category model from train.csv (+ extra files whose labels are categories), request-type model
    from the repo's labelled set minus its held-out quarter (+ extra files whose labels are request types)."""
    normalize = Normalizer.from_file(DATA_DIR / "t2s.json")
    more = extra_examples(extra)
    request_labels = {t.value for t in RequestType}

    texts: list[str] = []
    labels: list[str] = []
    groups: list[str] = []
    for row in read_csv(shared / "complaints" / "train.csv"):
        for form in complaint_forms(row):
            texts.append(normalize(form))
            labels.append(row["label"])
            groups.append(f"train:{row['row']}")
    for index, example in enumerate(e for e in more if e.label not in request_labels):
        texts.append(normalize(example.text))
        labels.append(example.label)
        groups.append(f"extra:{index}")
    category = train_linear(texts, labels, groups=groups, **CATEGORY_RECIPE)  # type: ignore[arg-type]
    staging = Path(tempfile.mkdtemp(prefix="hotline-nlu-"))
    category.save(staging / "category")
    shutil.copy(DATA_DIR / "taxonomy.csv", staging / "category" / "taxonomy.csv")
    yield f"category: {len(set(groups))} messages in {len(texts)} forms, temperature {category.temperature:.3f}"

    examples = [e for e in request_type_examples() if not is_held_out(e.text)]
    examples += [e for e in more if e.label in request_labels]
    request_type = train_linear(
        [normalize(e.text) for e in examples],
        [e.label for e in examples],
        **REQUEST_TYPE_RECIPE,  # type: ignore[arg-type]
    )
    request_type.save(staging / "request_type")
    yield f"request type: {len(examples)} labelled messages (held-out quarter excluded)"

    nlp = assemble(
        {"hotline_category": staging / "category", "hotline_request_type": staging / "request_type"},
        config={"hotline_faq": {"sentence_encoder": False}},  # not needed to save; `load` chooses it
    )
    if out.exists():
        shutil.rmtree(out)
    nlp.to_disk(out)
    shutil.rmtree(staging)
    save_meta(
        out,
        {"name": "hotline_nlu", "description": "Hotline NLU: category, request type, places, urgency, FAQ"},
    )
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    yield f"pipeline {nlp.pipe_names} -> {out} ({size / 1e6:.1f} MB)"
