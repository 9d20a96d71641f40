"""Administrative-division gazetteer: finds districts, streets/towns and communities in text.

Built once (`python -m nlu.cli build`) from the statistics bureau's division codes for a configured
jurisdiction and shipped as `nlu/data/gazetteer_<code>.json`; aliases are derived at load time from
the official names, so the file holds only (code, name) pairs.

Codes are hierarchical by prefix: province 2 digits, city 4, district 6, street/town 9, community 12.
Ambiguity ("朝阳区" is in Beijing and in Changchun; "和平里社区" exists under several streets) is resolved
by parent-child consistency with the other places in the same text, then by the jurisdiction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Level = Literal["province", "city", "district", "street", "community", "road"]
LEVEL_BY_CODE_LENGTH: dict[int, Level] = {
    2: "province",
    4: "city",
    6: "district",
    9: "street",
    12: "community",
}
ADMIN_DEPTH: dict[Level, int] = {
    "province": 0,
    "city": 1,
    "district": 2,
    "street": 3,
    "community": 4,
    "road": 3,
}

# Official suffixes people drop. Longest first: the first that matches is stripped.
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
_DISTRICT_SUFFIXES = ("自治县", "自治旗", "新区", "区", "县", "市", "旗")
_STREET_SUFFIXES = ("街道办事处", "民族乡", "办事处", "街道", "地区", "镇", "乡", "苏木")
_COMMUNITY_SUFFIXES = (
    "社区居民委员会",
    "社区居委会",
    "居民委员会",
    "村民委员会",
    "村委会",
    "居委会",
    "委员会",
    "社区",
)
# 隆林各族自治县 → 隆林, 红河哈尼族彝族自治州 → 红河
_AUTONOMY = re.compile(r"^(.{2,}?)(?:各族|(?:[^族]{1,5}族)+)?自治[县旗州]$")
# A bare stem ending like this is a road, building or zone name ("西路", "世纪大道", "创新园"), not a place.
_GENERIC_ENDINGS = ("路", "街", "道", "楼", "店", "场", "园", "站", "区", "厂", "所", "局")
_GENERIC_STREET_ENDINGS = ("路", "街", "道", "楼", "站", "区")
_MANY_STREETS = 2000
_MAX_MENTIONS = 24
# Names that are only a level's generic word ("市辖区") are never matched.
_PLACEHOLDER_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    name: str
    level: Level
    in_jurisdiction: bool = True

    def is_ancestor_of(self, other: Unit) -> bool:
        return len(self.code) < len(other.code) and other.code.startswith(self.code)


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    text: str
    candidates: tuple[Unit, ...]
    exact: bool  # the alias carries its level's suffix ("望京街道", "朝阳区"), not a bare stem


@dataclass(frozen=True, slots=True)
class _AliasMatch:
    units: tuple[Unit, ...]  # the candidates: several streets of one district (天通苑北/南) are the district
    exact: bool  # some unit carries this alias with its suffix
    may_start_a_road: bool  # only bare names of larger units: a road word after it makes it a road's name


@dataclass(frozen=True, slots=True)
class Resolved:
    """The chosen chain of places, each with the mention that named it (None when only implied)."""

    units: dict[Level, tuple[Unit, Mention | None]]
    mentions: tuple[Mention, ...]


def _strip(name: str, suffixes: Sequence[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _without_autonomy(name: str) -> str:
    match = _AUTONOMY.match(name)
    return match.group(1) if match else name


def former_names(unit: Unit) -> list[str]:
    """A district's stem with the other county-level suffixes: 上虞市 is 上虞区 since 2013, 广德县 is 广德市."""
    if unit.level != "district":
        return []
    stem = _strip(_without_autonomy(unit.name), _DISTRICT_SUFFIXES)
    if len(stem) < 2 or stem == unit.name:
        return []
    return [stem + suffix for suffix in ("区", "县", "市") if stem + suffix != unit.name]


def aliases_for(unit: Unit) -> dict[str, bool]:
    """Ways people write a unit's name, each flagged exact (suffixed) or bare."""
    name = unit.name
    out: dict[str, bool] = {name: True}
    if unit.level == "province":
        out[_strip(name, _PROVINCE_SUFFIXES)] = False
    elif unit.level == "city":
        out[_strip(_without_autonomy(name), _CITY_SUFFIXES)] = False
    elif unit.level == "district":
        out.setdefault(_strip(_without_autonomy(name), _DISTRICT_SUFFIXES), False)
    elif unit.level == "street":
        stem = _strip(name, _STREET_SUFFIXES)
        if not stem.endswith(_GENERIC_STREET_ENDINGS):  # 麦子店, 高碑店 stay; 西路 goes
            out.setdefault(stem, False)
        for suffix in ("街道", "地区", "镇", "乡"):
            out.setdefault(stem + suffix, True)
        if len(stem) >= 4 and stem.endswith(("东", "西", "南", "北")):
            out.setdefault(stem[:-1], False)  # 天通苑北 and 天通苑南 are both 「天通苑」
    elif unit.level == "community":
        village = name.endswith(("村民委员会", "村委会")) or _strip(name, _COMMUNITY_SUFFIXES).endswith("村")
        stem = _strip(name, _COMMUNITY_SUFFIXES)
        if village:
            stem = stem[:-1] if stem.endswith("村") and len(stem) >= 3 else stem
            out.setdefault(stem + "村", True)  # 石垡村
            out.setdefault(stem + "村委会", True)
        else:
            out.setdefault(stem + "社区", True)  # 多福巷社区
        # 多福巷; two-character bare stems are too often ordinary words, and 「世纪大道」 names the road.
        if len(stem) >= 3 and not stem.endswith(_GENERIC_ENDINGS + ("城", "苑")):
            out.setdefault(stem, False)
    return {alias: exact for alias, exact in out.items() if len(alias) >= 2}


class Gazetteer:
    """Immutable alias index over the units of one jurisdiction (plus outside markers)."""

    def __init__(
        self, units: Iterable[Unit], *, jurisdiction: str, ambiguous_stems: Iterable[str] = ()
    ) -> None:
        self.jurisdiction = jurisdiction
        self.units: dict[str, Unit] = {}
        index: dict[str, list[tuple[Unit, bool]]] = {}
        blocked = set(ambiguous_stems)
        for unit in units:
            if unit.name in _PLACEHOLDER_NAMES:
                continue
            if unit.level != "road":
                self.units[unit.code] = unit
            for alias, exact in aliases_for(unit).items():
                if not exact and alias in blocked:
                    continue
                index.setdefault(alias, []).append((unit, exact))
        for unit in self.units.values():  # former names only where no current place has that name
            for alias in former_names(unit):
                if alias not in index:
                    index[alias] = [(unit, True)]
        self._index = {alias: tuple(entries) for alias, entries in index.items()}
        lengths: dict[str, set[int]] = {}
        for alias in self._index:  # every alias has two characters or more (`aliases_for`, `former_names`)
            lengths.setdefault(alias[:2], set()).add(len(alias))
        # First two characters → alias lengths starting with them, longest first: most pairs start none,
        # where most single characters start some alias.
        self._lengths = {pair: tuple(sorted(found, reverse=True)) for pair, found in lengths.items()}
        self._matches = {alias: self._match(entries) for alias, entries in self._index.items()}
        # Among a whole province's or country's towns and villages a bare name alone (「江北」, 「新桥」) is
        # weak evidence; within one city (Beijing's 349 streets) 「望京」 alone is what people write.
        self._bare_needs_support = sum(1 for u in self.units.values() if u.level == "street") > _MANY_STREETS

    # -- loading -------------------------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: Path) -> Gazetteer:
        data = json.loads(path.read_text(encoding="utf-8"))
        jurisdiction: str = data["jurisdiction"]
        units: list[Unit] = []
        for code, name in data["units"]:
            level = LEVEL_BY_CODE_LENGTH[len(code)]
            units.append(Unit(code, name, level, code.startswith(_prefix(jurisdiction))))
        for road, district_code in data.get("roads", []):
            units.append(Unit(district_code, road, "road", True))
        return cls(units, jurisdiction=jurisdiction, ambiguous_stems=data.get("ambiguous_stems", ()))

    def parent(self, unit: Unit, level: Level) -> Unit | None:
        length = {"province": 2, "city": 4, "district": 6, "street": 9}.get(level)
        if length is None or len(unit.code) <= length:
            return None
        return self.units.get(unit.code[:length])

    # -- matching ------------------------------------------------------------------------------------

    def mentions(self, text: str) -> list[Mention]:
        """Leftmost-longest alias matches, non-overlapping."""
        found: list[Mention] = []
        lengths, n = self._lengths, len(text)
        i = 0  # where the next match may start
        # Most positions start no alias's first two characters: one quick pass finds those that do.
        for start in [k for k in range(n - 1) if text[k : k + 2] in lengths]:
            if start < i:
                continue
            for length in lengths[text[start : start + 2]]:
                end = start + length
                match = self._matches.get(text[start:end]) if end <= n else None
                if match is None or (match.may_start_a_road and _CONTINUATIONS.match(text, end)):
                    continue
                found.append(Mention(start, end, text[start:end], match.units, match.exact))
                i = end
                break
        return found

    def _match(self, entries: tuple[tuple[Unit, bool], ...]) -> _AliasMatch:
        """What a match of an alias with these entries makes, worked out once when loading."""
        return _AliasMatch(
            units=self._same_district(tuple(unit for unit, _ in entries)),
            exact=any(exact for _, exact in entries),
            may_start_a_road=_may_start_a_road(entries),
        )

    def _same_district(self, units: tuple[Unit, ...]) -> tuple[Unit, ...]:
        """Several streets or villages of one district under one name (天通苑北/南) name that district."""
        if len(units) < 2 or any(u.level not in ("street", "community") for u in units):
            return units
        districts = {u.code[:6] for u in units}
        if len(districts) == 1:
            district = self.units.get(districts.pop())
            if district is not None:
                return (district,)
        return units

    def resolve(self, text: str, mentions: Sequence[Mention] | None = None) -> Resolved:
        """Pick the chain province → city → district → street → community that explains the most mentions.

        A candidate place is scored by how many mentions name it or one of its ancestors (so 「朝阳区望京街道」
        picks 望京街道 under 朝阳区), then by depth, then by whether it was written with its suffix. A bare name
        shared by many places (「江北」) is only taken when another mention supports it.
        """
        # Pairwise consistency is quadratic: a place is named early, so the first mentions suffice.
        mentions = list(self.mentions(text) if mentions is None else mentions)[:_MAX_MENTIONS]
        best: tuple[tuple[int, ...], Unit, Mention] | None = None
        ambiguous = [_ambiguous(mention) for mention in mentions]
        for position, mention in enumerate(mentions):
            for unit in mention.candidates:
                agreement, supported = _evidence(unit, mention, mentions, ambiguous)
                if (
                    not mention.exact
                    and not supported
                    and (
                        ambiguous[position]
                        or (self._bare_needs_support and unit.level in ("street", "community"))
                    )
                ):
                    continue
                # "长春市朝阳区": a place outside the jurisdiction right before it overrides the default.
                outside_parent = any(
                    not cand.in_jurisdiction and not _covers(cand, unit)
                    for other in mentions
                    if 0 <= mention.start - other.end <= 1
                    for cand in other.candidates
                )
                score = (
                    int(unit.in_jurisdiction and not outside_parent),
                    agreement,
                    ADMIN_DEPTH[unit.level],
                    int(mention.exact),
                    -len(mention.candidates),
                    -position,
                )
                if best is None or score > best[0]:
                    best = (score, unit, mention)
        if best is None or best[0][0] == 0:
            return Resolved({}, tuple(mentions))
        _, leaf, leaf_mention = best
        leaf = self._prefer_shallow(leaf, leaf_mention)
        chain: dict[Level, Unit] = {}
        if leaf.level == "road":
            district = self.units.get(leaf.code)
            if district is not None:
                chain["district"] = district
        else:
            chain[leaf.level] = leaf
        base = chain.get("district", leaf) if leaf.level == "road" else leaf
        for level in ("province", "city", "district", "street"):
            ancestor = self.parent(base, level)
            if ancestor is not None and level not in chain:
                chain[level] = ancestor
        return Resolved(_attach_mentions(chain, mentions), tuple(mentions))

    def _prefer_shallow(self, leaf: Unit, mention: Mention) -> Unit:
        """A bare name shared by a unit and its own parent (「海淀」 district and street, 「王江泾」 town and
        community) names the larger one."""
        if mention.exact:
            return leaf
        related = [c for c in mention.candidates if _covers(c, leaf) and c.level not in ("province", "city")]
        return min(related, key=lambda c: ADMIN_DEPTH[c.level], default=leaf)


def _evidence(
    unit: Unit, mention: Mention, mentions: Sequence[Mention], ambiguous: Sequence[bool]
) -> tuple[int, bool]:
    """How many mentions name `unit` or one of its ancestors, less those written in full that it cannot
    belong with ("盐城市" against a 南京 village); and whether a parent below province level is written
    elsewhere in the text ("盐城市 … 孙家巷"). One pass over the mentions: `resolve` asks for every candidate."""
    explained, supported = 0, False
    for other, other_ambiguous in zip(mentions, ambiguous, strict=True):
        covering = [cand for cand in other.candidates if _covers(cand, unit)]
        if covering:
            explained += 1
        if other is mention:
            continue
        if not supported and any(cand.level != "province" for cand in covering):
            supported = True
        if (
            other.exact
            and not other_ambiguous
            and not covering
            and not any(_covers(unit, cand) for cand in other.candidates)
        ):
            explained -= 1
    return explained, supported


def _attach_mentions(
    chain: dict[Level, Unit], mentions: Sequence[Mention]
) -> dict[Level, tuple[Unit, Mention | None]]:
    """For each level of the chain, the mention that named it (each mention names one level only)."""
    used: set[int] = set()
    out: dict[Level, tuple[Unit, Mention | None]] = {}
    for level in ("community", "street", "district", "city", "province"):
        unit = chain.get(level)
        if unit is None:
            continue
        named: Mention | None = None
        for index, mention in enumerate(mentions):
            if index not in used and unit in mention.candidates:
                named = mention
                used.add(index)
                break
        out[level] = (unit, named)
    return out


def _ambiguous(mention: Mention) -> bool:
    """Two candidates of which neither contains the other: different places."""
    candidates = mention.candidates
    return any(
        not _covers(a, b) and not _covers(b, a) for i, a in enumerate(candidates) for b in candidates[i + 1 :]
    )


def _covers(candidate: Unit, leaf: Unit) -> bool:
    """`candidate` is `leaf` itself or one of its ancestors (a road's district covers the road)."""
    if candidate is leaf or candidate == leaf:
        return True
    if candidate.level == "road":
        return False
    if leaf.level == "road":
        return leaf.code.startswith(candidate.code)
    return candidate.is_ancestor_of(leaf)


def _prefix(jurisdiction: str) -> str:
    """ "110000" → "11"; "330100" → "3301"; "000000" (whole country) → ""."""
    return (
        jurisdiction.rstrip("0") if len(jurisdiction.rstrip("0")) % 2 == 0 else jurisdiction.rstrip("0") + "0"
    )


_CONTINUATIONS = re.compile(r"[路街道桥门巷胡同里院]")


def _may_start_a_road(entries: Sequence[tuple[Unit, bool]]) -> bool:
    """A bare stem followed by a road word names a road or gate, not the unit ("朝阳路", "和平门")."""
    return not all(exact for _, exact in entries) and all(
        unit.level in ("district", "province", "city") for unit, _ in entries
    )
