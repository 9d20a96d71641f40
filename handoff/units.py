"""Handling units and routing rules, loaded from the files shipped in `handoff/data/`.

`units_<jurisdiction>.csv` lists a jurisdiction's districts and streets/towns with their official
statistics codes (rebuilt from the national division tables by `hotline data build-units`);
`departments.csv` lists the functional departments and the categories they handle.
`seed_units` is idempotent: running it twice changes nothing, running it after an edit updates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import RoutingRule, Unit, UnitKind

DATA = resources.files("handoff") / "data"


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    kind: str
    parent_code: str | None
    district_code: str | None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedReport:
    created: int
    updated: int
    rules_created: int


def read_units(jurisdiction: str = "110000") -> list[UnitRow]:
    text = (DATA / f"units_{jurisdiction}.csv").read_text(encoding="utf-8")
    return [
        UnitRow(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent_code=row["parent_code"] or None,
            district_code=row["district_code"] or None,
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def read_departments() -> list[UnitRow]:
    text = (DATA / "departments.csv").read_text(encoding="utf-8")
    return [
        UnitRow(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent_code=None,
            district_code=None,
            categories=tuple(c for c in row["categories"].split("|") if c),
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def seed_units(session: Session, rows: Iterable[UnitRow]) -> SeedReport:
    """Insert or update units by code, then make sure their routing rules exist."""
    existing = {u.code: u for u in session.scalars(select(Unit))}
    created = updated = rules_created = 0
    rows = list(rows)
    for row in rows:  # parents come before children in the files
        unit = existing.get(row.code)
        parent = existing.get(row.parent_code) if row.parent_code else None
        if unit is None:
            unit = Unit(code=row.code, name=row.name, kind=row.kind, district_code=row.district_code)
            unit.parent_id = parent.id if parent else None
            session.add(unit)
            session.flush()
            existing[row.code] = unit
            created += 1
        elif (unit.name, unit.kind, unit.district_code) != (row.name, row.kind, row.district_code):
            unit.name, unit.kind, unit.district_code = row.name, row.kind, row.district_code
            updated += 1
    rules = {(r.match_kind, r.match_value, r.unit_id) for r in session.scalars(select(RoutingRule))}
    for row, wanted in _rules_for(rows):
        unit = existing[row.code]
        if (wanted[0], wanted[1], unit.id) not in rules:
            session.add(RoutingRule(match_kind=wanted[0], match_value=wanted[1], unit_id=unit.id, priority=wanted[2]))
            rules_created += 1
    session.flush()
    return SeedReport(created=created, updated=updated, rules_created=rules_created)


def _rules_for(rows: Iterable[UnitRow]) -> Iterator[tuple[UnitRow, tuple[str, str, int]]]:
    for row in rows:
        if row.kind in (UnitKind.STREET, UnitKind.ZONE):
            yield row, ("admin_code", row.code, 10)  # the street/town is the 属地 of its area
        for rank, category in enumerate(row.categories):
            yield row, ("category", category, 10 + rank)


def build_units_file(divisions_dir: Path, jurisdiction: str, out: Path) -> int:
    """Rebuild `units_<jurisdiction>.csv` from the national tables (areas.csv, streets.csv).

    `jurisdiction` is a province code padded to six digits (110000 Beijing) or a city (330100).
    """
    prefix = jurisdiction.rstrip("0") or jurisdiction
    if len(prefix) % 2:
        prefix += "0"
    areas = [r for r in _csv(divisions_dir / "areas.csv") if r["code"].startswith(prefix)]
    area_codes = {r["code"] for r in areas}
    streets = [r for r in _csv(divisions_dir / "streets.csv") if r["areaCode"] in area_codes]
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "name", "kind", "parent_code", "district_code"])
        for area in areas:
            writer.writerow([area["code"], area["name"], UnitKind.DISTRICT, "", area["code"]])
        for street in streets:
            # Codes 4xx are development zones and airports, not administrative streets.
            kind = UnitKind.ZONE if street["code"][6] == "4" else UnitKind.STREET
            writer.writerow([street["code"], street["name"], kind, street["areaCode"], street["areaCode"]])
    return len(areas) + len(streets)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
