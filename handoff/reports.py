"""The monthly assessment report: the four-category ranking and every street's three rates, as a
table for people (printed), CSV and XLSX (one sheet per category plus all streets)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from handoff.ranking import MonthlyRanking, RankedStreet

COLUMNS = (
    "排名", "上月排名", "名次变化", "街道/乡镇", "代码", "所属区", "综合得分", "响应率", "解决率", "满意率",
    "派单数", "按时响应", "回访答复数", "已解决", "满意", "基本满意", "不满意", "诉求量",
)
CATEGORIES = (("先进类", "advanced"), ("进步类", "improved"), ("整改类", "rectify"), ("治理类", "governance"))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def row(street: RankedStreet, district_names: dict[str, str]) -> list[object]:
    f = street.figures
    return [
        street.rank or "—", street.previous_rank or "—",
        f"+{street.places_gained}" if (street.places_gained or 0) > 0 else (street.places_gained if street.places_gained is not None else "—"),
        f.name, f.code, district_names.get(f.district_code or "", f.district_code or ""),
        "—" if street.score is None else round(street.score, 2),
        _pct(f.response_rate), _pct(f.resolution_rate), _pct(f.satisfaction_rate),
        f.dispatched, f.responded_in_time, f.answered, f.resolved, f.satisfied, f.basically, f.unsatisfied, f.tickets,
    ]


def as_text(ranking: MonthlyRanking, district_names: dict[str, str]) -> str:
    w = ranking.policy.score
    lines = [
        f"{ranking.month} 街道（乡镇）接诉即办四类排名",
        f"综合得分 = {w.response:.0%}×响应率 + {w.resolution:.0%}×解决率 + {w.satisfaction:.0%}×满意率；"
        f"回访答复少于{ranking.policy.min_answered}件的不参与排名。",
    ]
    for title, attribute in CATEGORIES:
        streets: Sequence[RankedStreet] = getattr(ranking, attribute)
        lines.append("")
        lines.append(f"【{title}】")
        if not streets:
            lines.append("  （无）")
        for index, street in enumerate(streets, start=1):
            f = street.figures
            district = district_names.get(f.district_code or "", "")
            if attribute == "governance":
                detail = f"诉求量 {f.tickets} 件"
            elif attribute == "improved":
                detail = f"上升 {street.places_gained} 位（{street.previous_rank} → {street.rank}），得分 {street.score:.2f}"
            else:
                detail = (f"第{street.rank}名，得分 {street.score:.2f}（响应 {_pct(f.response_rate)}，"
                          f"解决 {_pct(f.resolution_rate)}，满意 {_pct(f.satisfaction_rate)}）")
            lines.append(f"  {index:>2}. {district}{f.name}  {detail}")
    scored = sum(1 for s in ranking.streets if s.rank is not None)
    lines.append("")
    lines.append(f"参与排名 {scored} 个街道（乡镇），共 {len(ranking.streets)} 个。")
    return "\n".join(lines)


def write_csv(ranking: MonthlyRanking, district_names: dict[str, str], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM lets Excel read the Chinese
        writer = csv.writer(handle)
        writer.writerow(["类别", *COLUMNS])
        for title, attribute in CATEGORIES:
            for street in getattr(ranking, attribute):
                writer.writerow([title, *row(street, district_names)])
        for street in ranking.streets:
            writer.writerow(["全部", *row(street, district_names)])


def write_xlsx(ranking: MonthlyRanking, district_names: dict[str, str], path: Path) -> None:
    book = Workbook()
    sheets = [(title, getattr(ranking, attribute)) for title, attribute in CATEGORIES] + [("全部街道乡镇", ranking.streets)]
    for index, (title, streets) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        sheet.append(list(COLUMNS))
        for cell in sheet[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="C8161D")
        for street in streets:
            sheet.append(row(street, district_names))
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHIJKLMNOPQR", (6, 8, 8, 18, 12, 10, 9, 9, 9, 9, 8, 9, 10, 8, 6, 8, 7, 8)):
            sheet.column_dimensions[column].width = width
    book.save(path)
