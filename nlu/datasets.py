"""Reading the labelled files: complaints (../shared/data) and the repo's request-type set."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REQUEST_TYPE_DIR = Path(__file__).parent / "data" / "request_type"
SHORT_LENGTH = 25  # characters: a chat message, or the first line of a board post


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def is_held_out(text: str) -> bool:
    """A fixed quarter of any labelled set, chosen by content hash, never tuned on."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[-1] in "0123"


def request_type_examples(directory: Path = REQUEST_TYPE_DIR) -> list[Example]:
    examples = [
        Example(f"{row['title']}。{row['excerpt']}", row["label"])
        for row in read_csv(directory / "board_labelled.tsv", "\t")
    ]
    examples += [Example(row["text"], row["label"]) for row in read_csv(directory / "chat_written.tsv", "\t")]
    return examples


def complaint_forms(row: dict[str, str]) -> list[str]:
    """Every form a labelled message takes for training: the post without and with word breaks, its
    original text where recovered, and its opening alone (chat-length)."""
    text = row["text_desegmented"]
    forms = [text, row["text_segmented"], text[:SHORT_LENGTH]]
    if row.get("raw_text", "").strip():
        forms.append(row["raw_text"])
    return forms


def extra_examples(paths: Sequence[Path]) -> list[Example]:
    """Operators' corrections or a city's own tickets, as CSV (columns text,label) or as the JSON lines
    `handoff` exports (`{"text": ..., "label": {"category": ..., "request_type": ...}}`): a row gives one
    example per labelled field; `train` routes each by its label (a request type or a category)."""
    examples: list[Example] = []
    for path in paths:
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                label = row.get("label")
                fields = label if isinstance(label, dict) else {"label": label}
                for name in ("category", "request_type", "label"):
                    value = fields.get(name)
                    if isinstance(value, str) and value and row.get("text"):
                        examples.append(Example(row["text"], value))
        else:
            examples += [Example(row["text"], row["label"]) for row in read_csv(path)]
    return examples
