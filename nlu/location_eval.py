"""Span precision/recall/F1 of administrative places on CCKS 2021 addresses, for the whole country,
with jionlp's and cpca's parsers run on the same rows (when installed: `pip install hotline[eval]`).

A predicted span counts when its text equals a gold span of the same level (prov, city, district,
town, community). jionlp and cpca return normalised names, not spans: their span is where that name
(or the same suffix-stripped alias our gazetteer uses) is written in the text at the reported position;
a level they only inferred (a city filled in from its district) is not written and is not counted,
the same rule our parser follows.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

from .build import division_units
from .gazetteer import LEVEL_BY_CODE_LENGTH, Gazetteer, Level, Unit, aliases_for
from .metrics import SpanCounts

CCKS_LEVELS: dict[str, Level] = {
    "prov": "province",
    "city": "city",
    "district": "district",
    "town": "street",
    "community": "community",
}
Parser = Callable[[str], dict[Level, list[str]]]
JIONLP_LEVELS: tuple[tuple[str, Level], ...] = (
    ("province", "province"),
    ("city", "city"),
    ("county", "district"),
    ("town", "street"),
    ("village", "community"),
)
CPCA_LEVELS: tuple[tuple[str, Level], ...] = (("省", "province"), ("市", "city"), ("区", "district"))


def country_gazetteer(shared: Path) -> Gazetteer:
    units = [
        Unit(code, name, LEVEL_BY_CODE_LENGTH[len(code)]) for code, name in division_units(shared, "000000")
    ]
    return Gazetteer(units, jurisdiction="000000")


def rows(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def gold_spans(row: dict[str, object]) -> dict[Level, list[str]]:
    out: dict[Level, list[str]] = {level: [] for level in CCKS_LEVELS.values()}
    for entity in row["entities"]:  # type: ignore[attr-defined]
        level = CCKS_LEVELS.get(entity["type"])
        if level is not None:
            out[level].append(entity["text"])
    return out


def our_parser(gazetteer: Gazetteer) -> Parser:
    def parse(text: str) -> dict[Level, list[str]]:
        resolved = gazetteer.resolve(text)
        out: dict[Level, list[str]] = {level: [] for level in CCKS_LEVELS.values()}
        for level, (_, mention) in resolved.units.items():
            if mention is not None and level in out:
                out[level].append(mention.text)
        return out

    return parse


def _written(text: str, name: object, level: Level, position: int | None = None) -> str | None:
    """The way `name` is written in `text` (longest alias), at `position` when given."""
    if not isinstance(name, str) or not name or (isinstance(name, float) and math.isnan(name)):
        return None
    for alias in sorted(aliases_for(Unit("0" * 12, name, level)), key=len, reverse=True):
        if position is None:
            if alias in text:
                return alias
        elif text.startswith(alias, position):
            return alias
    return None


def jionlp_parser() -> Parser:
    with contextlib.redirect_stdout(io.StringIO()):
        import jionlp

    def parse(text: str) -> dict[Level, list[str]]:
        result = jionlp.parse_location(text, town_village=True)
        out: dict[Level, list[str]] = {level: [] for level in CCKS_LEVELS.values()}
        for key, level in JIONLP_LEVELS:
            span = _written(text, result.get(key), level)
            if span:
                out[level].append(span)
        return out

    return parse


def cpca_parser() -> Parser:
    import cpca

    def parse(text: str) -> dict[Level, list[str]]:
        record = cpca.transform([text], pos_sensitive=True).to_dict("records")[0]
        out: dict[Level, list[str]] = {level: [] for level in CCKS_LEVELS.values()}
        for key, level in CPCA_LEVELS:
            position = record.get(f"{key}_pos", -1)
            if position is not None and position >= 0:
                span = _written(text, record.get(key), level, int(position))
                if span:
                    out[level].append(span)
        return out

    return parse


def evaluate(
    path: Path, parsers: dict[str, Parser], *, limit: int | None = None
) -> dict[str, dict[Level, SpanCounts]]:
    counts = {name: {level: SpanCounts() for level in CCKS_LEVELS.values()} for name in parsers}
    for index, row in enumerate(rows(path)):
        if limit is not None and index >= limit:
            break
        gold = gold_spans(row)
        for name, parse in parsers.items():
            predicted = parse(str(row["text"]))
            for level in CCKS_LEVELS.values():
                counts[name][level].add(gold[level], predicted[level])
    return counts


def format_counts(counts: dict[str, dict[Level, SpanCounts]]) -> str:
    lines = [f"{'level':<11}" + "".join(f"{name:>24}" for name in counts)]
    lines.append(f"{'':<11}" + "".join(f"{'P     R     F1':>24}" for _ in counts))
    for ccks, level in CCKS_LEVELS.items():
        cells = []
        for per_level in counts.values():
            p, r, f = per_level[level].scores()
            cells.append(f"{p:>12.3f}{r:>6.3f}{f:>6.3f}")
        lines.append(f"{ccks:<11}" + "".join(cells))
    return "\n".join(lines)
