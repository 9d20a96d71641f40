"""Build the shipped data files from ../shared/data (the gazetteer, the T→S table, the taxonomy)."""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from .gazetteer import Unit, aliases_for
from .normalize import build_t2s_table

DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Bare names that are also everyday words: matched only with their suffix ("和平街道", not "和平").
_EVERYDAY_TAGS = {"a", "ad", "an", "d", "v", "vn", "n", "m", "t", "l", "i", "c", "p", "r"}
_EVERYDAY_MIN_FREQUENCY = 2000


def _rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def division_units(shared: Path, jurisdiction: str) -> list[tuple[str, str]]:
    """(code, name) for the jurisdiction's units, plus every province and city as outside markers."""
    divisions = shared / "divisions"
    prefix = jurisdiction.rstrip("0")
    if len(prefix) % 2:
        prefix += "0"
    units: list[tuple[str, str]] = []
    units += [(r["code"], r["name"]) for r in _rows(divisions / "provinces.csv")]
    units += [(r["code"], r["name"]) for r in _rows(divisions / "cities.csv")]
    units += [(r["code"], r["name"]) for r in _rows(divisions / "areas.csv") if r["code"].startswith(prefix)]
    units += [
        (r["code"], r["name"]) for r in _rows(divisions / "streets.csv") if r["code"].startswith(prefix)
    ]
    if prefix == "11":
        communities = divisions / "beijing_communities.csv"
        units += [(r["community_code"], r["community_name"]) for r in _rows(communities)]
    else:
        units += [
            (r["code"], r["name"])
            for r in _rows(divisions / "villages.csv.gz")
            if r["code"].startswith(prefix)
        ]
    return units


def road_districts(shared: Path, *, min_share: float = 0.8, min_count: int = 2) -> list[tuple[str, str]]:
    """Beijing roads seen (almost) only in one district: the road implies the district."""
    path = shared / "addresses" / "beijing_roads_silver.csv"
    districts = {
        r["district_name"]: r["district_code"] for r in _rows(shared / "divisions" / "beijing_districts.csv")
    }
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in _rows(path):
        counts[row["road"]][row["district"]] = int(row["n_addresses"])
    out = []
    for road, by_district in sorted(counts.items()):
        district, count = max(by_district.items(), key=lambda kv: kv[1])
        if (
            count >= min_count
            and count / sum(by_district.values()) >= min_share
            and district in districts
            and len(road) >= 3
        ):
            out.append((road, districts[district]))
    return out


def everyday_words() -> set[str]:
    """Common non-place words from jieba's dictionary (build time only)."""
    import jieba

    words = set()
    dictionary = Path(jieba.__file__).parent / "dict.txt"
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[2] in _EVERYDAY_TAGS and int(parts[1]) >= _EVERYDAY_MIN_FREQUENCY:
            words.add(parts[0])
    return words


def build_gazetteer(shared: Path, jurisdiction: str) -> dict[str, object]:
    from .gazetteer import LEVEL_BY_CODE_LENGTH

    units = division_units(shared, jurisdiction)
    common = everyday_words()
    ambiguous = sorted(
        {
            alias
            for code, name in units
            for alias, exact in aliases_for(Unit(code, name, LEVEL_BY_CODE_LENGTH[len(code)])).items()
            if not exact and alias in common
        }
    )
    return {
        "jurisdiction": jurisdiction,
        "source": "National Bureau of Statistics 2023 division codes (modood/Administrative-divisions-of-China)",
        "units": units,
        "roads": road_districts(shared) if jurisdiction.startswith("11") else [],
        "ambiguous_stems": ambiguous,
    }


def write_build(shared: Path, out_dir: Path, jurisdiction: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    t2s = out_dir / "t2s.json"
    t2s.write_text(json.dumps(build_t2s_table(), ensure_ascii=False, sort_keys=True), encoding="utf-8")
    written.append(t2s)
    gazetteer = out_dir / f"gazetteer_{jurisdiction}.json"
    gazetteer.write_text(
        json.dumps(build_gazetteer(shared, jurisdiction), ensure_ascii=False), encoding="utf-8"
    )
    written.append(gazetteer)
    taxonomy = out_dir / "taxonomy.csv"
    train_labels = {r["label"] for r in _rows(shared / "complaints" / "train.csv")}
    with taxonomy.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["level1", "level2", "level3"])
        for row in _rows(shared / "complaints" / "taxonomy.csv"):
            if row["level1"] in train_labels:
                writer.writerow([row["level1"], row["level2"], row["level3"]])
    written.append(taxonomy)
    return written
