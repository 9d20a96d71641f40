"""Demo data: a few months of realistic tickets across Beijing's streets, with dispatch, signing,
results and callbacks, so the dashboard, the ranking and the hot topics have something to show.

Deterministic (a fixed seed). Each street has its own habits (how fast it signs, how often it
solves, how citizens rate it) that drift month by month, so rankings move. Loaded once: a second
run finds the demo tickets and does nothing.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from handoff.models import (
    AssignmentStatus,
    Citizen,
    RoutingRule,
    Survey,
    SurveyStatus,
    Ticket,
    TicketAssignment,
    TicketCounter,
    TicketEvent,
    TicketStatus,
    Unit,
    UnitKind,
)

DEMO_CHAT = "demo"
# Urban districts write far more than the mountain towns.
BUSY_DISTRICTS = {"110105": 8, "110108": 8, "110106": 5, "110102": 5, "110101": 5, "110112": 4, "110114": 4, "110115": 3, "110107": 3}
ROADS = ["阜通东大街", "广顺北大街", "东四环北路", "中关村大街", "学院路", "西直门外大街", "朝阳北路", "南三环西路",
         "京顺路", "回龙观西大街", "双桥东路", "新华大街", "通惠河北路", "五道口", "望京西路", "芍药居北里"]
COMPOUNDS = ["花家地北里", "望京西园三区", "南湖中园", "蓝堡国际", "牡丹园小区", "远洋山水", "天通苑东一区", "翠微西里",
             "方庄芳群园", "北苑家园", "金隅丽景园", "百子湾家园", "和平里七区", "安华西里", "六里屯", "双井富力城"]
TEMPLATES: dict[str, list[str]] = {
    "城乡建设": [
        "{compound}小区楼下垃圾堆了好几天没人清理，味道很大",
        "{compound}{building}号楼电梯经常故障，老人上下楼很困难",
        "{compound}供暖温度不达标，室内只有15度",
        "{road}人行道砖块松动破损，晚上容易绊倒",
        "{compound}楼道灯坏了一个多月没人修",
        "{compound}小区物业不作为，地下室堆满杂物",
        "{road}附近有违章建筑，占用消防通道",
        "{compound}{building}号楼外墙皮脱落，有安全隐患",
    ],
    "环境保护": [
        "{road}工地夜间施工噪音太大，严重影响休息",
        "{road}附近餐馆油烟直排，熏得没法开窗",
        "{compound}旁边的河道有异味，水面漂着垃圾",
        "{road}路边有人焚烧垃圾，浓烟很大",
        "{compound}小区垃圾分类桶满溢，没有按时清运",
    ],
    "交通运输": [
        "{road}路口红绿灯时间太短，老人过马路来不及",
        "{road}共享单车乱停乱放，占用盲道",
        "{road}公交站牌信息不准确，车经常不按时到",
        "{compound}小区门口常年有车违停，堵住出入口",
        "{road}路面坑洼积水，车辆经过溅得行人一身水",
    ],
    "劳动和社会保障": [
        "公司拖欠工资三个月，多次讨要未果",
        "咨询灵活就业人员社保怎么缴纳",
        "单位不给缴纳社保，想要投诉",
        "退休后养老金迟迟没有发放",
    ],
    "卫生计生": [
        "{road}附近社区卫生服务站预约疫苗太难",
        "{compound}附近有无证诊所，怀疑非法行医",
        "医院挂号排队时间太长，希望增加窗口",
    ],
    "教育文体": [
        "{road}学校门口上下学时段交通拥堵",
        "{compound}附近幼儿园收费不透明",
        "{compound}小区里的健身器材损坏没人维修",
    ],
    "商贸旅游": [
        "{road}一家超市销售过期食品",
        "{road}一家健身房关门跑路，预付卡无法退费",
        "{road}商家拒绝七天无理由退货",
    ],
}
CATEGORY_WEIGHTS = {"城乡建设": 40, "环境保护": 16, "交通运输": 15, "劳动和社会保障": 10, "卫生计生": 6, "教育文体": 6, "商贸旅游": 7}
REQUEST_TYPES = (["投诉"] * 6) + (["求助"] * 2) + ["举报", "建议", "咨询"]


@dataclass
class _Habits:
    """How one street works; `drift` moves it a little every month."""

    sign_on_time: float
    solve: float
    satisfied: float
    drift: float

    def in_month(self, months_from_start: int) -> _Habits:
        shift = self.drift * months_from_start
        return _Habits(
            sign_on_time=_clip(self.sign_on_time + shift / 2), solve=_clip(self.solve + shift),
            satisfied=_clip(self.satisfied + shift), drift=self.drift,
        )


def _clip(value: float) -> float:
    return max(0.05, min(0.99, value))


def has_demo_data(session: Session) -> bool:
    return session.scalar(select(Ticket.id).where(Ticket.chat_id == DEMO_CHAT).limit(1)) is not None


def load_demo_tickets(session: Session, *, now: datetime, tz: ZoneInfo, months: int = 3, per_day: int = 70, seed: int = 12345) -> int:
    """Tickets from the first day `months` months back until yesterday. Returns how many were made."""
    if has_demo_data(session):
        return 0
    rng = random.Random(seed)
    streets = list(session.scalars(select(Unit).where(Unit.kind == UnitKind.STREET).order_by(Unit.code)))
    departments = _department_for(session)
    weights = [BUSY_DISTRICTS.get(s.district_code or "", 1) for s in streets]
    habits = {s.code: _Habits(rng.uniform(0.75, 0.99), rng.uniform(0.55, 0.92), rng.uniform(0.45, 0.85), rng.uniform(-0.04, 0.05)) for s in streets}
    districts = {u.code: u.name for u in session.scalars(select(Unit).where(Unit.kind == UnitKind.DISTRICT))}
    local_now = now.astimezone(tz)
    first = _months_back(local_now.date().replace(day=1), months)
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    counters: dict[str, int] = {}
    citizens = [uuid.uuid4() for _ in range(900)]
    rows["citizens"] = [{"id": c, "display_name": None, "language": "zh", "created_at": now} for c in citizens]
    for day in _days(first, local_now.date()):
        month_index = (day.year - first.year) * 12 + day.month - first.month
        for _ in range(max(1, int(rng.gauss(per_day, per_day / 5)))):
            street = rng.choices(streets, weights)[0]
            accepted = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=rng.randint(7 * 60, 22 * 60))
            if accepted >= now:
                continue
            counters[day.strftime("%Y%m%d")] = counters.get(day.strftime("%Y%m%d"), 0) + 1
            number = f"{day:%Y%m%d}{counters[day.strftime('%Y%m%d')]:05d}"
            _ticket(rows, rng, number=number, street=street, district=districts.get(street.district_code or "", ""),
                    department=departments, accepted=accepted.astimezone(UTC), now=now,
                    habits=habits[street.code].in_month(month_index), citizen=rng.choice(citizens))
    for table, model in (("citizens", Citizen), ("tickets", Ticket), ("ticket_assignments", TicketAssignment),
                         ("ticket_events", TicketEvent), ("surveys", Survey)):
        for chunk in _chunks(rows[table], 2000):
            session.execute(insert(model), chunk)
    for day_key, last in counters.items():
        counter = session.get(TicketCounter, day_key)
        if counter is None:
            session.add(TicketCounter(day=day_key, last_value=last))
        else:
            counter.last_value = max(counter.last_value, last)
    return len(rows["tickets"])


def _ticket(rows: dict[str, list[dict[str, object]]], rng: random.Random, *, number: str, street: Unit, district: str,
            department: dict[str, uuid.UUID], accepted: datetime, now: datetime, habits: _Habits, citizen: uuid.UUID) -> None:
    category = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
    text = rng.choice(TEMPLATES[category]).format(road=rng.choice(ROADS), compound=rng.choice(COMPOUNDS), building=rng.randint(1, 24))
    urgent = rng.random() < 0.04
    ticket_id = uuid.uuid4()
    sign_minutes = 30 if urgent else 120
    dispatched = accepted + timedelta(minutes=rng.randint(3, 40))
    on_time = rng.random() < habits.sign_on_time
    signed = dispatched + timedelta(minutes=rng.randint(2, sign_minutes - 1) if on_time else rng.randint(sign_minutes + 5, 600))
    resolved = signed + timedelta(hours=rng.randint(3, 120))
    answered = resolved + timedelta(hours=rng.randint(4, 48))
    status = TicketStatus.SURVEYED
    if signed > now:
        status = TicketStatus.DISPATCHED
    elif resolved > now:
        status = TicketStatus.IN_PROGRESS
    elif answered > now:
        status = TicketStatus.RESOLVED
    ticket: dict[str, object] = {
        "id": ticket_id, "number": number, "citizen_id": citizen, "conversation_id": None, "channel": rng.choice(["wechat", "wechat", "web", "telegram"]),
        "chat_id": DEMO_CHAT, "request_type": rng.choice(REQUEST_TYPES), "category": category, "category_confidence": round(rng.uniform(0.7, 0.99), 3),
        "district": district, "district_code": street.district_code, "street": street.name, "street_code": street.code,
        "admin_code": street.code, "address": None, "description": text, "urgent": urgent, "urgency_cue": "紧急" if urgent else None,
        "status": status, "accepted_at": accepted, "dispatched_at": dispatched, "sign_deadline": dispatched + timedelta(minutes=sign_minutes),
        "resolve_deadline": dispatched + timedelta(days=7), "confirmed_at": dispatched, "updated_at": min(now, answered),
    }
    events: list[tuple[str, str | None, str | None, datetime, str, str]] = [("accepted", None, TicketStatus.ACCEPTED, accepted, "bot", "受理"),
              ("dispatched", TicketStatus.ACCEPTED, TicketStatus.DISPATCHED, dispatched, "operator", f"已派至{street.name}办理")]
    assignment: dict[str, object] = {
        "id": uuid.uuid4(), "ticket_id": ticket_id, "unit_id": street.id, "lead": True, "status": AssignmentStatus.DISPATCHED,
        "dispatched_at": dispatched, "sign_deadline": dispatched + timedelta(minutes=sign_minutes),
        "resolve_deadline": dispatched + timedelta(days=7), "reminders": 0,
    }
    if signed <= now:
        ticket["signed_at"], assignment["signed_at"], assignment["status"] = signed, signed, AssignmentStatus.SIGNED
        events.append(("signed", TicketStatus.DISPATCHED, TicketStatus.SIGNED, signed, "unit", f"{street.name}已签收"))
    if resolved <= now:
        ticket.update(resolved_at=resolved, center_feedback_at=resolved, citizen_feedback_at=resolved)
        assignment.update(status=AssignmentStatus.RESOLVED, resolved_at=resolved, result="已到现场处置完毕")
        events.append(("resolved", TicketStatus.SIGNED, TicketStatus.RESOLVED, resolved, "unit", "承办单位已办结"))
    rows["tickets"].append(ticket)
    rows["ticket_assignments"].append(assignment)
    if category in department and rng.random() < 0.15:  # a joint case with the department
        rows["ticket_assignments"].append({**assignment, "id": uuid.uuid4(), "unit_id": department[category], "lead": False})
    if resolved <= now:
        reached = rng.random() < 0.88
        solved = rng.random() < habits.solve
        mood = rng.random()
        satisfaction = ("满意" if mood < habits.satisfied else "基本满意" if mood < habits.satisfied + 0.25 else "不满意") if solved else ("不满意" if mood < 0.7 else "基本满意")
        done = answered <= now
        rows["surveys"].append({
            "id": uuid.uuid4(), "ticket_id": ticket_id, "conversation_id": None, "round": 1,
            "status": (SurveyStatus.ANSWERED if reached else SurveyStatus.UNREACHABLE) if done else SurveyStatus.ASKED,
            "step": "done" if done else "resolved", "attempts": 1 if reached else 3, "next_ask_at": answered, "asked_at": resolved,
            "answered_at": answered if done and reached else None, "resolved": solved if done and reached else None,
            "satisfaction": satisfaction if done and reached else None, "comment": None, "reopened": False, "created_at": resolved,
        })
        if done and reached:
            events.append(("survey", None, None, answered, "citizen", f"{'已解决' if solved else '未解决'}，{satisfaction}"))
            events.append(("status", TicketStatus.RESOLVED, TicketStatus.SURVEYED, answered, "system", "回访完成"))
    for kind, before, after, moment, actor, note in events:
        rows["ticket_events"].append({
            "id": uuid.uuid4(), "ticket_id": ticket_id, "kind": "status" if after else kind, "from_status": before,
            "to_status": after, "actor_type": actor, "actor_id": None, "unit_id": None, "note": note, "data": None, "created_at": moment,
        })


def _department_for(session: Session) -> dict[str, uuid.UUID]:
    """The first department of each category in the routing rules."""
    found: dict[str, uuid.UUID] = {}
    for rule in session.scalars(select(RoutingRule).where(RoutingRule.match_kind == "category").order_by(RoutingRule.priority)):
        found.setdefault(rule.match_value, rule.unit_id)
    return found


def _months_back(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def _chunks(items: list[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]
