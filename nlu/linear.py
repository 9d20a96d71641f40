"""A linear text classifier over character n-grams, stored as plain arrays (no pickles).

Training uses scikit-learn (`nlu.training`); inference here is a search of the message's n-grams in
the vocabulary and a small matrix product, which keeps `analyze` well under a millisecond and the model
file free of library-version coupling. The feature transform reproduces sklearn's
`TfidfVectorizer(analyzer="char", lowercase=True, sublinear_tf=True, norm="l2")` exactly.

An n-gram of up to three characters is handled as one integer, its code points packed, so counting a
message's n-grams and finding them among a quarter of a million run in numpy: with a dict of strings,
most of `analyze` was spent waiting for memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

MAX_N = 3  # longest n-gram that packs into an int64: 21 bits a character
_BITS = 21  # Unicode ends at 0x10FFFF; code points are stored plus one, so no character packs as 0
_NOT_A_CODE = np.iinfo(np.int64).max  # ends the sorted vocabulary: a search past the last code finds it


@dataclass(frozen=True, slots=True)
class Ngrams:
    """A text's distinct character n-grams, packed, and how often each occurs."""

    codes: IntArray  # ascending: a search in the vocabulary starts where the last one ended
    counts: IntArray
    # sklearn's order (all 1-grams in text order, then 2-grams ...): `codes[order]`. The order of the
    # features decides the float32 sums, so the last digits of a confidence.
    order: IntArray


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
        if not 1 <= ngram_range[0] <= ngram_range[1] <= MAX_N:
            raise ValueError(f"n-gram range {ngram_range}: n-grams of 1 to {MAX_N} characters only")
        self.classes = classes
        self._vocabulary = vocabulary
        # The packed vocabulary, sorted for `searchsorted`, and each code's feature row.
        codes = _pack_vocabulary(list(vocabulary))
        order = np.argsort(codes)
        self._codes = np.append(codes[order], _NOT_A_CODE)
        self._rows = np.append(np.fromiter(vocabulary.values(), dtype=np.int64, count=len(codes))[order], -1)
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

    def ngrams(self, text: str) -> Ngrams:
        """Character n-grams as sklearn's char analyzer makes them (lower case, spaces collapsed)."""
        return char_ngrams(with_prefix_view(text, self.prefix_view), self._ngram_range)

    def features(self, text: str, grams: Ngrams | None = None) -> tuple[IntArray, FloatArray]:
        grams = self.ngrams(text) if grams is None else grams
        at = self._codes.searchsorted(grams.codes)  # the method: `np.searchsorted` wraps it in Python
        known = grams.order[(self._codes[at] == grams.codes)[grams.order]]  # in sklearn's order
        indices, tf = self._rows[at[known]], grams.counts[known].astype(np.float32)
        values = ((1.0 + np.log(tf)) * self._idf[indices]).astype(np.float32, copy=False)
        norm = float(np.sqrt(values @ values))
        if norm > 0:
            values /= norm
        return indices, values

    def scores(self, text: str, grams: Ngrams | None = None) -> FloatArray:
        indices, values = self.features(text, grams)
        out: FloatArray = values @ self._coef[indices] + self._intercept
        return out

    def predict(self, text: str, grams: Ngrams | None = None) -> Prediction:
        """`grams` (from `ngrams`, or shared with another model of the same n-gram range) saves recounting."""
        probabilities = softmax(self.scores(text, grams) / self.temperature)
        listed = probabilities.tolist()  # Python floats at once, not one numpy scalar at a time
        best = int(probabilities.argmax())
        return Prediction(self.classes[best], listed[best], dict(zip(self.classes, listed, strict=True)))

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


def char_ngrams(text: str, ngram_range: tuple[int, int]) -> Ngrams:
    low, high = ngram_range
    points = _code_points(" ".join(text.lower().split()))
    by_length = [points]  # an n-gram is the (n-1)-gram starting there plus the n-th character
    for n in range(2, high + 1):
        by_length.append(by_length[-1][:-1] | (points[n - 1 :] << (_BITS * (n - 1))))
    return _distinct(np.concatenate(by_length[low - 1 :]))


def _distinct(codes: IntArray) -> Ngrams:
    """Each distinct code once, with its count and its place in order of first occurrence: what
    `np.unique(codes, return_index=True, return_counts=True)` gives, in half the numpy calls."""
    size = len(codes)
    order = codes.argsort(kind="stable")  # equal codes by position: a run starts at its first occurrence
    ordered = codes[order]
    edges = np.ones(size + 1, dtype=bool)  # where a run of equal codes starts, and the end
    np.not_equal(ordered[1:], ordered[:-1], out=edges[1:size])
    bounds = np.flatnonzero(edges)
    starts = bounds[:-1]
    return Ngrams(ordered[starts], bounds[1:] - starts, order[starts].argsort())


def _pack_vocabulary(grams: list[str]) -> IntArray:
    lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    if len(grams) and not 1 <= lengths.min() <= lengths.max() <= MAX_N:
        raise ValueError(f"the vocabulary has n-grams longer than {MAX_N} characters, or empty ones")
    points = _code_points("".join(grams))
    starts = np.cumsum(lengths) - lengths
    codes: IntArray = points[starts]
    for k in range(1, MAX_N):
        longer = lengths > k
        codes[longer] |= points[starts[longer] + k] << (_BITS * k)
    return codes


def _code_points(text: str) -> IntArray:
    """Each character's code point plus one ("surrogatepass": a lone surrogate is a character too)."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)
    points += 1
    return points


def softmax(scores: FloatArray) -> FloatArray:
    # `max` and `sum` are these reductions behind a Python wrapper that costs more than a few scores.
    shifted = scores - np.maximum.reduce(scores)
    exp = np.exp(shifted)
    out: FloatArray = exp / np.add.reduce(exp)
    return out
