"""Classification and span metrics, printed the same way for every task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def per_class(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, ClassScores]:
    out = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p != label)
        out[label] = ClassScores(*_prf(tp, fp, fn), support=tp + fn)
    return out


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> float:
    labels = sorted(set(gold)) if labels is None else labels
    scores = [s.f1 for s in per_class(gold, predicted, labels).values() if s.support]
    return sum(scores) / len(scores) if scores else 0.0


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold) if gold else 0.0


def report(title: str, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    """Per-class P/R/F1, macro-F1, accuracy and the confusion matrix, as text."""
    lines = [
        f"== {title}: n={len(gold)} macro-F1={macro_f1(gold, predicted, labels):.4f} accuracy={accuracy(gold, predicted):.4f}"
    ]
    lines.append(f"{'label':<10}{'P':>8}{'R':>8}{'F1':>8}{'n':>6}")
    for label, s in per_class(gold, predicted, labels).items():
        lines.append(f"{label:<10}{s.precision:>8.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.support:>6}")
    confusion = Counter(zip(gold, predicted, strict=True))
    short = [label[:2] for label in labels]
    lines.append("confusion (rows gold, columns predicted): " + " ".join(short))
    for label, name in zip(labels, short, strict=True):
        lines.append(f"  {name:<4}" + " ".join(f"{confusion[(label, other)]:>4}" for other in labels))
    return "\n".join(lines)


@dataclass
class SpanCounts:
    """Exact-span matching: a predicted span counts when its text equals a gold span's text."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: Sequence[str], predicted: Sequence[str]) -> None:
        remaining = Counter(gold)
        for span in predicted:
            if remaining[span] > 0:
                remaining[span] -= 1
                self.tp += 1
            else:
                self.fp += 1
        self.fn += sum(remaining.values())

    def scores(self) -> tuple[float, float, float]:
        return _prf(self.tp, self.fp, self.fn)
