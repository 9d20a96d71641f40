"""企业热线: is the writer a business? A unified social credit code, a business speaking of itself
(「我司」「我们企业」「营业执照」「开具发票」), or a company's full legal name outside a worker's
complaint about their employer (「公司拖欠工资」 is a citizen's matter, not a business's)."""

from __future__ import annotations

import re

from .types import Enterprise

# GB 32100-2015: 18 characters from digits and capitals without I, O, S, V, Z.
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Z])")
_SELF = re.compile(
    r"我司|本公司|我们公司的(?:营业执照|发票|税)|本企业|我们企业|我单位|我厂|我店|本店|我是(?:法人|企业负责人|个体户|老板)|开(?:个|家)?公司|"
    r"个体工商户|营业执照|注册公司|开办企业|企业开办|税务登记|开具发票|开发票|增值税|纳税人|一照一码|企业年报|稳岗补贴|纾困|减税降费|招商引资"
)
_COMPANY = re.compile(r"[\u4e00-\u9fff（）()]{2,30}?(?:有限责任公司|股份有限公司|有限公司|合伙企业|个人独资企业)")
_WORKER = re.compile(r"拖欠|欠薪|工资|辞退|开除|加班|劳动合同|社保没交|不交社保|工伤|赔偿金")


_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def valid_credit_code(code: str) -> bool:
    """GB 32100-2015's check character: an order number or an ID card number does not pass it."""
    if len(code) != 18 or any(c not in _CODE_ALPHABET for c in code):
        return False
    total = sum(_CODE_ALPHABET.index(c) * w for c, w in zip(code[:17], _CODE_WEIGHTS, strict=True))
    return _CODE_ALPHABET[(31 - total % 31) % 31] == code[17]


def detect_enterprise(text: str) -> Enterprise | None:
    upper = text.upper()
    for match in _CREDIT_CODE.finditer(upper):
        if valid_credit_code(match.group(1)):
            return Enterprise(cue="统一社会信用代码", credit_code=match.group(1))
    if (self_cue := _SELF.search(text)) is not None:
        return Enterprise(cue=self_cue.group(0))
    # Every ending of `_COMPANY` ends in 公司 or 企业: most texts need no search (its lazy repeat is slow).
    if (
        ("公司" in text or "企业" in text)
        and (company := _COMPANY.search(text)) is not None
        and not _WORKER.search(text)
    ):
        return Enterprise(cue=company.group(0))
    return None
