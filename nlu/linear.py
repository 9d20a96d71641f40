"""A linear text classifier over character n-grams, stored as plain arrays (no pickles).

Training uses scikit-learn (`nlu.training`); inference here is a dictionary look-up per n-gram and a
small matrix product, which keeps `analyze` well under a millisecond and the model file free of
library-version coupling. The feature transform reproduces sklearn's
`TfidfVectorizer(analyzer="char", lowercase=True, sublinear_tf=True, norm="l2")` exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    probabilities: dict[str, float]


class LinearTextModel:
    """Char n-gram TF-IDF → linear scores → softmax with a fitted temperature."""

    def __init__(
        self,
        *,
        classes: list[str],
        vocabulary: dict[str, int],
        idf: FloatArray,
        coef: FloatArray,  # (n_features, n_classes)
        intercept: FloatArray,
        ngram_range: tuple[int, int],
        temperature: float,
        prefix_view: int = 0,
    ) -> None:
        self.classes = classes
        self._vocabulary = vocabulary
        self._idf = idf.astype(np.float32)
        self._coef = coef.astype(np.float32)
        self._intercept = intercept.astype(np.float32)
        self._ngram_range = ngram_range
        self.temperature = temperature
        self.prefix_view = prefix_view

    # -- features ------------------------------------------------------------------------------------

    @property
    def view(self) -> tuple[int, int, int]:
        """What `ngrams` depends on besides the text: models with the same view can share counts."""
        return (*self._ngram_range, self.prefix_view)

    def ngrams(self, text: str) -> Counter[str]:
        """Character n-gram counts as sklearn's char analyzer makes them (lower case, spaces collapsed)."""
        return char_ngrams(with_prefix_view(text, self.prefix_view), self._ngram_range)

    def features(
        self, text: str, grams: Counter[str] | None = None
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        counts = self.ngrams(text) if grams is None else grams
        # The look-ups and the copy run in C (map, fromiter); a Python loop here was most of `analyze`.
        ids = np.fromiter(map(self._vocabulary.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        known = ids >= 0
        indices, tf = ids[known], tf[known]
        values = ((1.0 + np.log(tf)) * self._idf[indices]).astype(np.float32)
        norm = float(np.sqrt(values @ values))
        if norm > 0:
            values /= norm
        return indices, values

    def scores(self, text: str, grams: Counter[str] | None = None) -> FloatArray:
        indices, values = self.features(text, grams)
        out: FloatArray = values @ self._coef[indices] + self._intercept
        return out

    def predict(self, text: str, grams: Counter[str] | None = None) -> Prediction:
        """`grams` (from `ngrams`, or shared with another model of the same n-gram range) saves recounting."""
        probabilities = softmax(self.scores(text, grams) / self.temperature)
        best = int(np.argmax(probabilities))
        return Prediction(
            self.classes[best],
            float(probabilities[best]),
            {label: float(p) for label, p in zip(self.classes, probabilities, strict=True)},
        )

    # -- storage -------------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        vocabulary = sorted(self._vocabulary, key=self._vocabulary.__getitem__)
        meta = {
            "classes": self.classes,
            "ngram_range": list(self._ngram_range),
            "temperature": self.temperature,
            "prefix_view": self.prefix_view,
            "vocabulary": vocabulary,
        }
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(
            directory / "weights.npz",
            idf=self._idf.astype(np.float16),
            coef=self._coef.astype(np.float16),
            intercept=self._intercept,
        )

    @classmethod
    def load(cls, directory: Path) -> LinearTextModel:
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        with np.load(directory / "weights.npz") as arrays:
            idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        return cls(
            classes=list(meta["classes"]),
            vocabulary={gram: i for i, gram in enumerate(meta["vocabulary"])},
            idf=idf,
            coef=coef,
            intercept=intercept,
            ngram_range=(int(meta["ngram_range"][0]), int(meta["ngram_range"][1])),
            temperature=float(meta["temperature"]),
            prefix_view=int(meta.get("prefix_view", 0)),
        )


def with_prefix_view(text: str, length: int) -> str:
    """The text followed by its first `length` characters moved to a private Unicode plane, so the opening
    (the title of a post, the whole of a chat message) gets features of its own."""
    if length <= 0:
        return text
    return text + " " + "".join(chr(0xF0000 + ord(char) % 0xFFF0) for char in text[:length])


def char_ngrams(text: str, ngram_range: tuple[int, int]) -> Counter[str]:
    text = " ".join(text.lower().split())
    low, high = ngram_range
    return Counter([text[i : i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)])


def softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max()
    exp = np.exp(shifted)
    out: FloatArray = exp / exp.sum()
    return out
