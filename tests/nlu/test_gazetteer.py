"""Ambiguity and alias rules on a tiny gazetteer, independent of the shipped data."""

from __future__ import annotations

from nlu.gazetteer import Gazetteer, Unit, aliases_for

UNITS = [
    Unit("11", "北京市", "province"),
    Unit("110105", "朝阳区", "district"),
    Unit("110105026", "望京街道", "street"),
    Unit("110101", "东城区", "district"),
    Unit("110101001", "东华门街道", "street"),
    Unit("110101001001", "多福巷社区居委会", "community"),
    Unit("22", "吉林省", "province", in_jurisdiction=False),
    Unit("2201", "长春市", "city", in_jurisdiction=False),
]


def gazetteer() -> Gazetteer:
    return Gazetteer(UNITS, jurisdiction="110000")


def test_aliases_drop_official_suffixes() -> None:
    assert set(aliases_for(Unit("110105026", "望京街道", "street"))) >= {"望京街道", "望京"}
    assert set(aliases_for(Unit("110101001001", "多福巷社区居委会", "community"))) >= {"多福巷社区", "多福巷"}
    assert "石垡村" in aliases_for(Unit("110115107200", "石垡村村委会", "community"))
    assert "西路" not in aliases_for(Unit("620105002", "西路街道", "street"))  # a road word, not a place


def test_community_implies_street_and_district() -> None:
    units = gazetteer().resolve("多福巷社区门口").units
    assert units["community"][0].code == "110101001001"
    assert units["street"][0].code == "110101001" and units["street"][1] is None  # implied, not written
    assert units["district"][0].code == "110101"


def test_parent_child_consistency_picks_the_chain() -> None:
    units = gazetteer().resolve("朝阳区望京街道").units
    assert units["street"][0].name == "望京街道" and units["district"][1] is not None


def test_another_citys_district_is_not_ours() -> None:
    assert gazetteer().resolve("长春市朝阳区红旗街").units == {}


def test_road_after_a_district_stem_is_a_road() -> None:
    assert gazetteer().resolve("朝阳路上堵车").units == {}
