"""Text normalisation: NFKC, Traditional to Simplified, emoji and stray symbols removed.

Every component reads the normalised text, so 「朝陽區」「朝阳区」 and 「ＡＢＣ１２３」「ABC123」 look the same.
The Traditional-to-Simplified table is a character map built once from OpenCC's dictionary
(`python -m nlu.cli build`) and shipped in `nlu/data/t2s.json`: no OpenCC at run time.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

# Emoji, pictographs, dingbats, variation selectors, zero-width joiners: noise for every task.
_NOISE = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\ufe00-\ufe0f\u200b-\u200f\u2060\ufeff]+"
)
_REPEATED_PUNCT = re.compile(r"([!?,.~。！？，、~…])\1+")
_SPACES = re.compile(r"\s+")


class Normalizer:
    """Maps raw text to the one form every component reads. Immutable after construction."""

    def __init__(self, t2s: dict[str, str]) -> None:
        self._table = str.maketrans({k: v for k, v in t2s.items() if len(k) == 1})

    @classmethod
    def from_file(cls, path: Path) -> Normalizer:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        text = text.translate(self._table)
        text = _NOISE.sub("", text)
        text = _REPEATED_PUNCT.sub(r"\1", text)
        return _SPACES.sub(" ", text).strip()


# Characters that are standard Simplified too, with their own meaning: 著名, 乾隆, 什么.
_ALSO_SIMPLIFIED = frozenset("著乾么")


def build_t2s_table() -> dict[str, str]:
    """Single-character Traditional→Simplified map from OpenCC's TSCharacters (build time only)."""
    import opencc  # opencc-python-reimplemented, an eval/build extra

    dictionary = Path(opencc.__file__).parent / "dictionary"
    table: dict[str, str] = {}
    for line in (dictionary / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1 and source != target and source not in _ALSO_SIMPLIFIED:
            table[source] = target
    return table
