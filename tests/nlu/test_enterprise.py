"""企业热线: a business is recognised, and answered from the businesses' own knowledge base."""

from __future__ import annotations

import pytest

from nlu import AnalysisContext, Nlu
from nlu.enterprise import detect_enterprise

ENTERPRISE = AnalysisContext(lane="enterprise")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("统一社会信用代码91110105MA01ABCD26，想咨询开具发票", "统一社会信用代码"),
        ("北京望京云帆科技有限公司想咨询出口退税", "北京望京云帆科技有限公司"),
        ("本企业想申请稳岗补贴", "本企业"),
        ("我是个体户，营业执照丢了怎么补", "我是个体户"),
        ("想开个公司需要准备什么", "开个公司"),
    ],
)
def test_a_business_is_recognised(text: str, cue: str) -> None:
    found = detect_enterprise(text)
    assert found is not None and found.cue == cue


@pytest.mark.parametrize(
    "text",
    [
        "公司拖欠工资三个月", "北京某某科技有限公司拖欠我两个月工资", "楼下饭店油烟太大", "居住证怎么办理",
        "订单号202611230012345671", "统一社会信用代码91110105MA01ABCD2X",  # the check character is wrong
    ],
)
def test_a_citizen_is_not_a_business(text: str) -> None:
    assert detect_enterprise(text) is None


def test_the_credit_code_is_kept(nlu_model: Nlu) -> None:
    analysis = nlu_model.analyze("统一社会信用代码91110105ma01abcd26，想咨询开具发票")
    assert analysis.enterprise is not None and analysis.enterprise.credit_code == "91110105MA01ABCD26"


def test_businesses_and_citizens_each_have_their_own_answers(nlu_model: Nlu) -> None:
    business = nlu_model.analyze("小规模纳税人增值税有什么优惠", ENTERPRISE)
    assert business.faq is not None and business.faq.faq_id == "ent-small-vat"
    assert nlu_model.analyze("居住证怎么办理", ENTERPRISE).faq is None  # not in the businesses' section
    assert nlu_model.analyze("居住证怎么办理").faq is not None
    assert nlu_model.analyze("企业年报什么时候报", ENTERPRISE).faq.faq_id == "ent-annual-report"  # type: ignore[union-attr]
    # A business that says so is answered from its section even without the enterprise entry.
    assert nlu_model.analyze("我司想问一下怎么开发票").faq.faq_id == "ent-invoice"  # type: ignore[union-attr]
