from __future__ import annotations

import pytest

from nlu import AnalysisContext, Nlu


@pytest.mark.parametrize(
    ("text", "district", "street", "community"),
    [
        ("望京", "110105", "110105026", None),
        ("朝阳区望京街道", "110105", "110105026", None),
        ("东华门这边路灯不亮", "110101", "110101001", None),
        ("多福巷社区门口有人乱停车", "110101", "110101001", "110101001001"),
        ("回龙观的暖气不热", "110114", "110114011", None),
        ("海淀区学院路街道有噪音", "110108", "110108010", None),
    ],
)
def test_names_people_write(
    nlu_model: Nlu, text: str, district: str, street: str | None, community: str | None
) -> None:
    location = nlu_model.analyze(text, AnalysisContext(awaiting="location")).location
    assert location.district is not None and location.district.code == district
    assert (location.street.code if location.street else None) == street
    assert (location.community.code if location.community else None) == community


def test_another_citys_chaoyang_is_not_beijings(nlu_model: Nlu) -> None:
    location = nlu_model.analyze("长春市朝阳区红旗街有人占道经营").location
    assert location.district is None


def test_road_implies_district(nlu_model: Nlu) -> None:
    location = nlu_model.analyze("知春路上有个大坑").location
    assert location.district is not None and location.district.name == "海淀区"


def test_map_pin_keeps_coordinates_and_reads_its_label(nlu_model: Nlu) -> None:
    context = AnalysisContext(latitude=39.99, longitude=116.47, pin_label="北京市朝阳区望京街道")
    location = nlu_model.analyze("这里", context).location
    assert (location.latitude, location.longitude) == (39.99, 116.47)
    assert location.street is not None and location.street.name == "望京街道"


def test_another_jurisdiction_by_configuration() -> None:
    import nlu

    hangzhou = nlu.load(jurisdiction="330100", sentence_encoder=False)
    location = hangzhou.analyze("良渚这边的路灯坏了").location
    assert location.street is not None and location.street.name == "良渚街道"
    assert location.district is not None and location.district.code == "330110"
    assert hangzhou.analyze("朝阳区望京街道").location.district is None  # Beijing is outside Hangzhou


@pytest.mark.parametrize(
    ("text", "district", "street", "address"),
    [
        ("天通苑东区3号楼", "昌平区", None, "天通苑东区3号楼"),  # 天通苑北/南 streets: the district is sure
        ("望京西路", "朝阳区", "望京街道", "望京西路"),
        ("回龙观龙泽苑东区12号楼2单元", "昌平区", "回龙观街道", "龙泽苑东区12号楼2单元"),
        ("知春路6号楼门口", "海淀区", None, "知春路6号楼门口"),
        ("东城区东华门街道多福巷社区南池子大街10号院", "东城区", "东华门街道", "南池子大街10号院"),
    ],
)
def test_rest_of_the_address(
    nlu_model: Nlu, text: str, district: str, street: str | None, address: str
) -> None:
    location = nlu_model.analyze(text).location
    assert location.district is not None and location.district.name == district
    assert (location.street.name if location.street else None) == street
    assert location.address == address
