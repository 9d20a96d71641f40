"""回访: after a ticket is closed the citizen is asked, on their own channel, whether the problem was
solved and how satisfied they are. Buttons where the channel has them; plain answers (「解决了」,
「1」, 「不满意，垃圾还在」) everywhere. Unanswered questions are asked again on a schedule, then
recorded as unreachable. 「未解决」 or 「不满意」 offers a second round (二次办理) with the same unit.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import outbox, texts
from handoff.dispatch import dispatch_ticket
from handoff.messages import Button, Reply
from handoff.models import (
    AssignmentStatus,
    Citizen,
    Conversation,
    ConversationState,
    Survey,
    SurveyStatus,
    Ticket,
    TicketAssignment,
    TicketEvent,
    TicketStatus,
)
from handoff.store import UnitOfWork
from handoff.tickets import Actor, advance_ticket
from handoff.timers import Job

SATISFACTION_LEVELS = ("满意", "基本满意", "不满意")
CITIZEN = Actor("citizen")


@dataclass(frozen=True)
class SurveyPolicy:
    first_delay: timedelta = timedelta(minutes=0)  # after closing; real centers often wait hours
    retry_every: timedelta = timedelta(hours=24)
    max_asks: int = 3  # then unreachable


@dataclass(frozen=True)
class SurveyAnswer:
    resolved: bool | None = None
    satisfaction: str | None = None
    reopen: bool | None = None
    comment: str | None = None


# -- reading an answer ----------------------------------------------------------------------------

_NOT_RESOLVED = re.compile(r"没(有)?解决|未解决|没(有)?处理|没人(管|处理|来)|还(在|是|没)|依旧|仍然|照旧|没(有)?效果|没用|不行")
_RESOLVED = re.compile(r"(已经?|都)?解决了?|已解决|处理(好|完)?了|已处理|弄好了|修好了|清理(干净)?了|好了|没问题了")
_YES = re.compile(r"^(是|是的|要|需要|申请|好|好的|可以|对|嗯|yes|y)$", re.I)
_NO = re.compile(r"^(不用|不用了|不要|不需要|算了|否|不|no|n)$", re.I)
_PUNCT = re.compile(r"[\s\W_]+")


def read_answer(text: str, button: str | None, step: str) -> SurveyAnswer | None:
    """The citizen's answer to the question at `step`, or None when the message is not one."""
    if button and button.startswith("survey:"):
        return _from_button(button)
    plain = unicodedata.normalize("NFKC", text).strip()
    if not plain or len(plain) > 200:
        return None
    if plain.isdigit():  # the numbered options of a channel without buttons, in button order
        return _from_number(int(plain), step)
    words = _PUNCT.sub("", plain)
    if step == "reopen":
        if _YES.match(words) or "二次办理" in words or "重新办理" in words:
            return SurveyAnswer(reopen=True)
        if _NO.match(words):
            return SurveyAnswer(reopen=False)
        return None
    satisfaction = _satisfaction_in(words)
    resolved: bool | None = None
    if _NOT_RESOLVED.search(words):
        resolved = False
    elif _RESOLVED.search(words):
        resolved = True
    if satisfaction is None and resolved is None:
        return None
    if resolved is None and satisfaction == "满意" and step == "resolved":
        resolved = True  # 「满意」 to "was it solved?" says yes to both
    return SurveyAnswer(resolved=resolved, satisfaction=satisfaction, comment=_comment(plain))


def _satisfaction_in(words: str) -> str | None:
    if "不满意" in words or "不太满意" in words or "很不满" in words:
        return "不满意"
    if "基本满意" in words or "一般" in words or "还行" in words or "凑合" in words:
        return "基本满意"
    if "满意" in words:
        return "满意"
    return None


def _comment(plain: str) -> str | None:
    """What the citizen said beyond the verdict, e.g. 「垃圾还在」 in 「不满意，垃圾还在」."""
    rest = re.sub(r"^(非常|很|挺|比较|基本|不太|不)?满意|^(已经?)?解决了?|^(没有?|未)解决", "", plain).strip(" ，,。.!！")
    return rest if len(rest) >= 2 else None


def _from_number(choice: int, step: str) -> SurveyAnswer | None:
    options = {
        "resolved": [SurveyAnswer(resolved=True), SurveyAnswer(resolved=False)],
        "satisfaction": [SurveyAnswer(satisfaction=level) for level in SATISFACTION_LEVELS],
        "reopen": [SurveyAnswer(reopen=True), SurveyAnswer(reopen=False)],
    }.get(step, [])
    return options[choice - 1] if 1 <= choice <= len(options) else None


def _from_button(payload: str) -> SurveyAnswer | None:
    _, field, value = (payload.split(":", 2) + ["", ""])[:3]
    if field == "resolved" and value in ("yes", "no"):
        return SurveyAnswer(resolved=value == "yes")
    if field == "sat" and value in SATISFACTION_LEVELS:
        return SurveyAnswer(satisfaction=value)
    if field == "reopen" and value in ("yes", "no"):
        return SurveyAnswer(reopen=value == "yes")
    return None


# -- asking ---------------------------------------------------------------------------------------


def question(step: str, number: str, language: str) -> Reply:
    if step == "satisfaction":
        return Reply(
            texts.say("survey_satisfaction", language, number=number),
            tuple(Button(level, f"survey:sat:{level}") for level in SATISFACTION_LEVELS),
        )
    if step == "reopen":
        return Reply(
            texts.say("survey_reopen", language, number=number),
            (Button("申请二次办理", "survey:reopen:yes"), Button("不用了", "survey:reopen:no")),
        )
    return Reply(
        texts.say("survey_resolved", language, number=number),
        (Button("已解决", "survey:resolved:yes"), Button("未解决", "survey:resolved:no")),
    )


def ask_due_surveys(policy: SurveyPolicy) -> Job:
    """A timer job: ask what is due, again what went unanswered, give up after `max_asks`."""

    def job(uow: UnitOfWork, now: datetime) -> int:
        with uow:
            session = uow.session
            due = session.scalars(
                select(Survey)
                .where(Survey.status.in_((SurveyStatus.PENDING, SurveyStatus.ASKED)), Survey.next_ask_at <= now)
                .order_by(Survey.next_ask_at)
                .limit(500)
                .with_for_update(skip_locked=True)
            ).all()
            for survey in due:
                _ask(session, survey, policy, now)
            uow.commit()
            return len(due)

    job.__name__ = "ask_due_surveys"
    return job


def _ask(session: Session, survey: Survey, policy: SurveyPolicy, now: datetime) -> None:
    ticket = session.get_one(Ticket, survey.ticket_id)
    if survey.status == SurveyStatus.PENDING and now < survey.created_at + policy.first_delay:
        survey.next_ask_at = survey.created_at + policy.first_delay
        return
    conversation = session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    if conversation is None or survey.attempts >= policy.max_asks:
        _give_up(session, survey, ticket, now)
        return
    if conversation.state == ConversationState.CLOSED:  # the answer should land in the same chat
        conversation.state, conversation.closed_at, conversation.updated_at = ConversationState.BOT, None, now
    citizen = session.get_one(Citizen, ticket.citizen_id)
    outbox.enqueue(
        session, conversation=conversation, reply=question(survey.step, ticket.number, citizen.language),
        kind="survey", now=now, ticket_id=ticket.id,
    )
    survey.status, survey.attempts, survey.asked_at = SurveyStatus.ASKED, survey.attempts + 1, now
    survey.next_ask_at = now + policy.retry_every


def _give_up(session: Session, survey: Survey, ticket: Ticket, now: datetime) -> None:
    if survey.answered_at is not None:  # they answered, only the offer of a second round went unanswered
        _finish(session, survey, ticket, now)
        return
    survey.status, survey.step = SurveyStatus.UNREACHABLE, "done"
    session.add(TicketEvent(ticket_id=ticket.id, kind="survey_unreachable", actor_type="system",
                            note=f"回访{survey.attempts}次未获答复", created_at=now))


# -- answering ------------------------------------------------------------------------------------


def open_survey_for(session: Session, citizen_id: uuid.UUID) -> Survey | None:
    """The question this citizen was asked most recently and has not finished answering."""
    return session.scalar(
        select(Survey)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .where(Ticket.citizen_id == citizen_id, Survey.status == SurveyStatus.ASKED)
        .order_by(Survey.asked_at.desc())
        .limit(1)
    )


def answer_survey(session: Session, *, survey: Survey, answer: SurveyAnswer, now: datetime) -> list[Reply]:
    """Record an answer and say what comes next: the next question, the offer of a second round, or thanks.

    A later answer corrects an earlier one: 「1」(solved) then 「不满意，垃圾还在」 is not solved."""
    ticket = session.get_one(Ticket, survey.ticket_id)
    language = session.get_one(Citizen, ticket.citizen_id).language
    if survey.step == "reopen":
        if answer.reopen is None:
            return [question("reopen", ticket.number, language)]
        if answer.reopen:
            _reopen(session, survey, ticket, now)
            return [Reply(texts.say("survey_reopened", language, number=ticket.number))]
        _finish(session, survey, ticket, now)
        return [Reply(texts.say("survey_thanks", language))]
    if answer.resolved is not None:
        survey.resolved = answer.resolved
    if answer.satisfaction is not None:
        survey.satisfaction = answer.satisfaction
    if answer.comment:
        survey.comment = f"{survey.comment}\n{answer.comment}" if survey.comment else answer.comment
    if survey.resolved is None:
        survey.step = "resolved"
        return [question("resolved", ticket.number, language)]
    if survey.satisfaction is None:
        survey.step = "satisfaction"
        return [question("satisfaction", ticket.number, language)]
    survey.answered_at = survey.answered_at or now
    session.add(TicketEvent(
        ticket_id=ticket.id, kind="survey", actor_type="citizen",
        note=f"{'已解决' if survey.resolved else '未解决'}，{survey.satisfaction}" + (f"：{survey.comment}" if survey.comment else ""),
        data={"resolved": survey.resolved, "satisfaction": survey.satisfaction, "round": survey.round}, created_at=now,
    ))
    if not survey.resolved or survey.satisfaction == "不满意":
        survey.step, survey.attempts = "reopen", 0
        return [question("reopen", ticket.number, language)]
    _finish(session, survey, ticket, now)
    return [Reply(texts.say("survey_thanks", language))]


def _finish(session: Session, survey: Survey, ticket: Ticket, now: datetime) -> None:
    survey.status, survey.step = SurveyStatus.ANSWERED, "done"
    if ticket.status == TicketStatus.RESOLVED:
        advance_ticket(session, ticket=ticket, to_status=TicketStatus.SURVEYED, actor=Actor("system"), now=now,
                       note="回访完成", notify_citizen=False)


def _reopen(session: Session, survey: Survey, ticket: Ticket, now: datetime) -> None:
    """二次办理: back to the unit that handled it, with the citizen's words attached."""
    survey.status, survey.step, survey.reopened = SurveyStatus.ANSWERED, "done", True
    words = survey.comment or ("问题未解决" if not survey.resolved else "市民不满意")
    advance_ticket(session, ticket=ticket, to_status=TicketStatus.REOPENED, actor=CITIZEN, now=now,
                   note=f"市民申请二次办理：{words}", notify_citizen=False)
    previous = session.scalars(
        select(TicketAssignment.unit_id)
        .where(TicketAssignment.ticket_id == ticket.id, TicketAssignment.status == AssignmentStatus.RESOLVED)
        .order_by(TicketAssignment.lead.desc(), TicketAssignment.resolved_at.desc())
    ).all()
    if previous:
        ticket.center_feedback_at = ticket.citizen_feedback_at = None
        dispatch_ticket(session, ticket=ticket, unit_ids=list(dict.fromkeys(previous)), operator=None, now=now,
                        note=f"二次办理：{words}")
    # Without a unit (the center closed it itself) it waits in the operators' queue as 重办.
