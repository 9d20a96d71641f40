"""FAQ retrieval: answer a question from the knowledge base only when confident.

The knowledge base (`nlu/data/faq.jsonl`) holds, per entry: id, question, other ways to ask,
answer, category, source, last checked, keywords. Every question form is indexed twice: character
1-2-gram TF-IDF (exact wording) and, when a sentence encoder is given, a multilingual sentence
embedding (paraphrases: 「去香港的证件怎么办理」 ≈ 「港澳通行证怎么办」). An entry's score is the mean of the
two cosine similarities of its best-matching forms. A query is answered only when the score clears a
threshold, beats the runner-up by a margin, and the query names one of the entry's keywords: a wrong
answer is worse than a handoff, so the threshold is tuned for few wrong answers (`hotline nlu eval`).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .types import FaqAnswer


class SentenceEncoder(Protocol):
    """Maps texts to L2-normalised vectors, one row per text."""

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


_STOP_CHARS = set("的了吗呢吧啊呀么我你您他她是在有和与及或请问一下个这那哪怎么什么如何想要能可以去")


@dataclass(frozen=True)
class FaqEntry:
    faq_id: str
    question: str
    alternatives: tuple[str, ...]
    answer: str
    category: str
    source: str
    last_checked: str
    keywords: tuple[str, ...] = ()  # words without which the entry is not about the query
    section: str = "citizen"  # "enterprise": the businesses' knowledge base (企业热线)


def _grams(text: str) -> Counter[str]:
    chars = [c for c in text.lower() if c.strip() and c not in _STOP_CHARS and not _is_punct(c)]
    grams: Counter[str] = Counter(chars)
    grams.update(a + b for a, b in pairwise(chars))
    return grams


def _is_punct(char: str) -> bool:
    return not (char.isalnum())


class FaqIndex:
    def __init__(
        self,
        entries: list[FaqEntry],
        *,
        threshold: float = 0.5,
        margin: float = 0.0,
        encoder: SentenceEncoder | None = None,
        normalize: Callable[[str], str] = str,
    ) -> None:
        self.entries = entries
        self.threshold = threshold
        self.margin = margin
        self.min_lexical = 0.25  # below this no tuning query was answered right: skip the encoder
        self._encoder = encoder
        self._ahead = threading.local()  # `encode_ahead`'s vectors, for the thread that asked for them
        # An entry answers only a text that names one of its keywords. One search for any keyword of a
        # section tells when none of its entries can answer: then no scoring, and no encoder's milliseconds.
        self._names_a_keyword: dict[str, Callable[[str], re.Match[str] | None]] = {}
        for section in dict.fromkeys(entry.section for entry in entries):
            own = [entry for entry in entries if entry.section == section]
            words = [word for entry in own for word in entry.keywords]
            if any(not entry.keywords for entry in own):
                words = []  # an entry without keywords may answer any text: "" is found in every text
            self._names_a_keyword[section] = re.compile("|".join(map(re.escape, words))).search
        forms: list[tuple[int, Counter[str]]] = []
        texts: list[str] = []
        for position, entry in enumerate(entries):
            for form in (entry.question, *entry.alternatives):
                forms.append((position, _grams(normalize(form))))
                texts.append(normalize(form))
        self._form_owner = np.asarray([position for position, _ in forms], dtype=np.int64)
        self._embeddings = encoder.encode(texts) if encoder is not None and texts else None
        document_frequency: Counter[str] = Counter()
        for _, grams in forms:
            document_frequency.update(grams.keys())
        total = len(forms) or 1
        self._idf = {gram: math.log((1 + total) / (1 + df)) + 1.0 for gram, df in document_frequency.items()}
        self._default_idf = math.log(1 + total) + 1.0
        self._forms = [(position, self._weigh(grams)) for position, grams in forms]
        # Gram → (form, the gram's weight in the form): a query's common characters have long lists.
        self._postings: dict[str, list[tuple[int, float]]] = {}
        for form_index, (_, vector) in enumerate(self._forms):
            for gram, weight in vector.items():
                self._postings.setdefault(gram, []).append((form_index, weight))

    @classmethod
    def from_file(
        cls,
        path: Path,
        *,
        threshold: float = 0.5,
        margin: float = 0.0,
        encoder: SentenceEncoder | None = None,
        normalize: Callable[[str], str] = str,
    ) -> FaqIndex:
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            entries.append(
                FaqEntry(
                    faq_id=row["id"],
                    question=row["question"],
                    alternatives=tuple(row.get("alternatives", ())),
                    answer=row["answer"],
                    category=row.get("category", ""),
                    source=row["source"],
                    last_checked=row["last_checked"],
                    keywords=tuple(row.get("keywords", ())),
                    section=row.get("section", "citizen"),
                )
            )
        return cls(entries, threshold=threshold, margin=margin, encoder=encoder, normalize=normalize)

    def _weigh(self, grams: Counter[str]) -> dict[str, float]:
        vector = {g: (1 + math.log(c)) * self._idf.get(g, self._default_idf) for g, c in grams.items()}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {g: v / norm for g, v in vector.items()}

    def lexical_scores(self, text: str) -> dict[int, float]:
        """Entry position → best form's character-gram cosine similarity (entries sharing no gram omitted)."""
        query = self._weigh(_grams(text))
        best: dict[int, float] = {}
        form_scores: dict[int, float] = {}
        for gram, weight in query.items():
            for form_index, form_weight in self._postings.get(gram, ()):
                form_scores[form_index] = form_scores.get(form_index, 0.0) + weight * form_weight
        for form_index, score in form_scores.items():
            position = self._forms[form_index][0]
            if score > best.get(position, 0.0):
                best[position] = score
        return best

    def encode_ahead(self, texts: Sequence[str], *, section: str = "citizen", longest: int | None = None) -> int:
        """Encode in one call the texts among `texts` that `answer` would encode (for this thread's
        next `answer`s, each vector used once): the encoder costs 1.7 ms for one short sentence and
        0.6 ms a sentence for eight. A text's vector differs from its own call's in the last bits
        (the batch is padded to its longest sentence). How many were encoded (none for one alone)."""
        if self._encoder is None or self._embeddings is None:
            return 0
        wanted = [text for text in dict.fromkeys(texts) if (longest is None or len(text) <= longest)
                  and self._names_a_keyword_of(section, text) and self._worth_encoding(self.lexical_scores(text))]
        self._ahead.vectors = dict(zip(wanted, self._encoder.encode(wanted), strict=True)) if len(wanted) > 1 else {}
        return len(self._ahead.vectors)

    def _names_a_keyword_of(self, section: str, text: str) -> bool:
        names_a_keyword = self._names_a_keyword.get(section)
        return names_a_keyword is not None and names_a_keyword(text) is not None

    def _worth_encoding(self, lexical: dict[int, float]) -> bool:
        """An encoder, and enough wording in common to ever clear the threshold: else its milliseconds are skipped."""
        return (self._encoder is not None and self._embeddings is not None
                and bool(lexical) and max(lexical.values()) >= self.min_lexical)

    def _query_vector(self, text: str) -> npt.NDArray[np.float32]:
        ahead: dict[str, npt.NDArray[np.float32]] = getattr(self._ahead, "vectors", {})
        vector = ahead.pop(text, None)
        if vector is not None:
            return vector
        assert self._encoder is not None
        encoded: npt.NDArray[np.float32] = self._encoder.encode([text])[0]
        return encoded

    def ranked(self, text: str) -> list[tuple[float, FaqEntry]]:
        """Entries by score (mean of lexical and semantic similarity when an encoder is set), highest first."""
        lexical = self.lexical_scores(text)
        if not lexical:
            return []  # no character in common with any question: not a question for this base
        if not self._worth_encoding(lexical):
            scores = lexical
        else:
            assert self._embeddings is not None  # `_worth_encoding` saw them
            query = self._query_vector(text)
            similarity = self._embeddings @ query
            semantic = np.full(len(self.entries), -1.0, dtype=np.float32)
            np.maximum.at(semantic, self._form_owner, similarity)
            scores = {p: 0.5 * (lexical.get(p, 0.0) + float(semantic[p])) for p in range(len(self.entries))}
        return sorted(((score, self.entries[p]) for p, score in scores.items()), key=lambda pair: -pair[0])

    def answer(self, text: str, section: str = "citizen") -> FaqAnswer | None:
        """The entry of `section` that answers `text`, or None: citizens and businesses each have theirs."""
        if not self._names_a_keyword_of(section, text):
            return None
        ranked = [(score, entry) for score, entry in self.ranked(text) if entry.section == section]
        if not ranked:
            return None
        score, entry = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if score < self.threshold or score - runner_up < self.margin:
            return None
        if entry.keywords and not any(word in text for word in entry.keywords):
            return None
        return FaqAnswer(entry.faq_id, entry.question, entry.answer, entry.source, round(score, 4))
