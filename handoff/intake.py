"""The conversation engine: one inbound message in, stored, understood, answered, in one transaction.

For each message the engine either answers (FAQ, status, help), asks for what a ticket still
lacks (where it happened), opens a ticket and hands the chat to the operators, or keeps quiet
because an operator holds the chat. Every reply goes to the outbox in the same transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Select, String, bindparam, column, func, literal_column, select, true, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnClause

from handoff import outbox, texts
from handoff.bulk import insert_new_rows, update_changed_rows, write_pending
from handoff.clock import DEFAULT_TZ, local_text
from handoff.errors import InvalidMessageError
from handoff.messages import Button, InboundMessage, InboundResult, Reply
from handoff.models import (
    ChannelIdentity,
    Citizen,
    Conversation,
    ConversationState,
    Direction,
    Message,
    OutboxEntry,
    OutboxStatus,
    Ticket,
    TicketEvent,
)
from handoff.numbering import NumberBlock
from handoff.passive import answer_in_response
from handoff.store import UnitOfWork
from handoff.surveys import answer_survey, open_survey_for, read_answer
from handoff.tickets import OPEN_STATUSES, TicketDraft, citizen_tickets, open_ticket
from handoff.topics import repeat_of
from nlu.types import Analysis, AnalysisContext, DialogueAct, RequestType

log = logging.getLogger(__name__)

MAX_LOCATION_ATTEMPTS = 2
BUTTON_HUMAN = Button("转人工", "human")
BUTTON_CANCEL = Button("取消", "cancel")
BUTTON_STATUS = Button("我的工单", "status")
# What our own buttons mean; a pressed button needs no reading.
BUTTON_ACTS = {"human": DialogueAct.HUMAN, "cancel": DialogueAct.DENY, "status": DialogueAct.STATUS_QUERY}
CANCEL_WORDS = frozenset({"取消", "算了", "不用了", "cancel"})
ENTERPRISE = "enterprise"
ENTERPRISE_ENTRY = "menu:enterprise"  # the WeChat menu key, Telegram's /enterprise, the web chat's entry
# Kinds of matter that need to know where it happened before a unit can be chosen.
NEEDS_LOCATION = frozenset({RequestType.COMPLAIN, RequestType.HELP, RequestType.REPORT, RequestType.SUGGEST})


class Analyzer(Protocol):
    def prepare(self, texts: Sequence[str]) -> None:
        """A hint: these texts are about to be analyzed, in this thread (work they share may be done together)."""

    def analyze(self, text: str, context: AnalysisContext | None = None) -> Analysis: ...


@dataclass(frozen=True)
class IntakeSettings:
    max_chars: int = 2000
    tz: ZoneInfo = DEFAULT_TZ


def handle_inbound(
    uow: UnitOfWork,
    *,
    nlu: Analyzer,
    msg: InboundMessage,
    settings: IntakeSettings = IntakeSettings(),
    now: datetime | None = None,
    hold_replies: timedelta | None = None,
) -> InboundResult:
    """Store, understand and answer one citizen message. A redelivered message changes nothing.

    `hold_replies` is for channels that answer inside the webhook's HTTP response (WeChat's passive
    reply): the replies are written leased for that long, so the delivery worker leaves them alone;
    the caller then settles them with `handoff.passive.take_passive_reply`. If it dies first, the lease
    runs out and the worker sends them the ordinary way.
    """
    validate(msg, settings)
    moment = now or datetime.now(UTC)
    for attempt in range(3):
        with uow:
            known = _look_up(uow.session, [msg])
            if known.stored:
                return _replay(uow.session, known.stored[0])
            try:
                turn = _Turn(uow.session, nlu=nlu, msg=msg, settings=settings, now=moment, hold=hold_replies,
                             known=known.writers[0] if known.writers else None)
                result = turn.run()
                _write(uow.session, autocommit=False)
                uow.commit()
                return result
            except IntegrityError:
                # A concurrent delivery of the same message (or the same new citizen) won the race;
                # start again: the next pass finds what it stored.
                uow.rollback()
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Submission:
    """One message for `handle_batch`, with its own `hold_replies` (see `handle_inbound`)."""

    msg: InboundMessage
    hold_replies: timedelta | None = None
    # `time.monotonic()` by which a reply can still go in the webhook's response (WeChat): a batch
    # that handles the message before then settles the first reply as passive at once.
    answer_by: float | None = None


def handle_batch(
    uow_factory: Callable[[], UnitOfWork],
    *,
    nlu: Analyzer,
    submissions: Sequence[Submission],
    settings: IntakeSettings = IntakeSettings(),
    now: datetime | None = None,
) -> list[InboundResult | Exception]:
    """`handle_inbound` for many messages at once: what a burst costs a message.

    The rows of a whole batch are written together and the redelivery check and the writers'
    identities are one query. Messages are handled in their order, so a citizen's two messages in
    one batch behave as if sent apart. Should the write meet a concurrent redelivery (a unique
    platform id taken meanwhile), the batch is dropped and each message handled on its own, which
    replays what the other one stored. So is a batch that one message breaks: that message gets its
    error, the others their answers. A database that is down fails the whole batch (the webhooks
    answer 503; the platforms retry).

    On PostgreSQL a batch holds each writer once (a writer's next message goes in the next round,
    where it sees the first one's rows), and a round makes three round trips in autocommit: the
    look-up, the ticket numbers (if it opens tickets) and one statement that writes every row, atomic
    as any statement is. A transaction would add a BEGIN and a COMMIT, each a round trip that waits
    for the server, which at a burst's rate is scheduled among the web processes.
    """
    results: list[InboundResult | Exception | None] = [None] * len(submissions)
    valid: list[tuple[int, Submission]] = []
    for index, submission in enumerate(submissions):
        try:
            validate(submission.msg, settings)
            valid.append((index, submission))
        except InvalidMessageError as exc:
            results[index] = exc
    pending = valid
    while pending:
        try:
            with uow_factory() as uow:
                autocommit = _autocommit_on_postgresql(uow.session)
                batch, pending_next = _first_round(pending) if autocommit else (pending, [])
                handled = _run_batch(uow.session, nlu, [s for _, s in batch], settings, now, autocommit=autocommit)
                _write(uow.session, autocommit=autocommit)
                uow.commit()
        except OperationalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a redelivery race, or one message that breaks the batch
            if not isinstance(exc, IntegrityError):
                log.exception("a batch of %d messages failed; handling them one by one", len(pending))
            for index, submission in pending:
                try:
                    results[index] = handle_inbound(
                        uow_factory(), nlu=nlu, msg=submission.msg, settings=settings, now=now,
                        hold_replies=submission.hold_replies,
                    )
                except OperationalError:
                    raise
                except Exception as alone:  # noqa: BLE001 - this message's own failure, for its webhook
                    results[index] = alone
            break
        for (index, _), result in zip(batch, handled, strict=True):
            results[index] = result
        pending = pending_next
    return [r for r in results if r is not None]


def _autocommit_on_postgresql(session: Session) -> bool:
    """On PostgreSQL, the session's statements each commit by themselves (see `handle_batch`)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


def _first_round(items: list[tuple[int, Submission]]) -> tuple[list[tuple[int, Submission]], list[tuple[int, Submission]]]:
    """Each writer's first message now; their next ones, in their order, after it is written."""
    writers: set[tuple[str, str]] = set()
    first: list[tuple[int, Submission]] = []
    later: list[tuple[int, Submission]] = []
    for item in items:
        writer = (item[1].msg.channel, item[1].msg.channel_user_id)
        (later if writer in writers else first).append(item)
        writers.add(writer)
    return first, later


def _write(session: Session, *, autocommit: bool) -> None:
    """A batch's rows: in one statement where it can (`handoff.bulk`), else by the unit of work."""
    if not autocommit:
        if insert_new_rows(session):  # else the commit's flush writes both, in the order it needs
            update_changed_rows(session)
        return
    if write_pending(session):
        return
    # Some rows need the flush (a relationship to sync): several statements, so a transaction.
    connection = session.connection()
    connection.exec_driver_sql("BEGIN")
    try:
        session.flush()
    except BaseException:
        with contextlib.suppress(DBAPIError):  # a dead connection has nothing to roll back
            connection.exec_driver_sql("ROLLBACK")
        raise
    connection.exec_driver_sql("COMMIT")


def _run_batch(
    session: Session, nlu: Analyzer, submissions: Sequence[Submission], settings: IntakeSettings, now: datetime | None,
    *, autocommit: bool = False,
) -> list[InboundResult]:
    """The turns of a batch. In autocommit (each writer once) nothing may be flushed before the
    batch's one write: a flush of several statements would commit them one by one."""
    if autocommit:
        with session.no_autoflush:
            return _run_turns(session, nlu, submissions, settings, now,
                              numbers=NumberBlock(session, tz=settings.tz, autocommit=True))
    return _run_turns(session, nlu, submissions, settings, now, numbers=NumberBlock(session, tz=settings.tz))


def _run_turns(
    session: Session, nlu: Analyzer, submissions: Sequence[Submission], settings: IntakeSettings, now: datetime | None,
    *, numbers: NumberBlock,
) -> list[InboundResult]:
    msgs = [s.msg for s in submissions]
    known = _look_up(session, msgs)
    stored = {(m.channel, m.platform_msg_id): m for m in known.stored}
    writers = {(i.channel, i.channel_user_id): (i, c) for i, c in known.writers}
    handled: dict[tuple[str, str], InboundResult] = {}
    seen_writers: set[tuple[str, str]] = set()
    results: list[InboundResult] = []
    nlu.prepare([m.text for m in msgs if (m.channel, m.platform_msg_id) not in stored and m.text])
    for position, submission in enumerate(submissions):
        numbers.messages_left = len(submissions) - position
        msg = submission.msg
        key, writer = (msg.channel, msg.platform_msg_id), (msg.channel, msg.channel_user_id)
        if key in stored:
            results.append(_replay(session, stored[key]))
            continue
        if key in handled:  # the same message twice in one batch
            results.append(dataclasses.replace(handled[key], duplicate=True))
            continue
        if writer in seen_writers:
            session.flush()  # the writer's earlier message must be visible to this one's queries (SQLite)
        turn = _Turn(session, nlu=nlu, msg=msg, settings=settings, now=now or datetime.now(UTC),
                     hold=submission.hold_replies, known=writers.get(writer), numbers=numbers,
                     answer_in_response=submission.answer_by is not None and time.monotonic() < submission.answer_by)
        handled[key] = result = turn.run()
        writers[writer] = (turn.identity, turn.citizen)
        seen_writers.add(writer)
        results.append(result)
    numbers.give_back()
    return results


@dataclass(frozen=True)
class _Known:
    """What the database already holds of a batch: messages stored before (redeliveries), and the
    writers' identities with their citizens."""

    stored: list[Message]
    writers: list[tuple[ChannelIdentity, Citizen]]


def _look_up(session: Session, msgs: Sequence[InboundMessage]) -> _Known:
    """One round trip on PostgreSQL, the batch's keys as one JSON parameter; two queries elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return _Known(list(_find_inbound_many(session, msgs)), _identities_of(session, msgs))
    wanted = [{"channel": m.channel, "platform_msg_id": m.platform_msg_id, "channel_user_id": m.channel_user_id}
              for m in msgs]
    stored: dict[uuid.UUID, Message] = {}
    writers: dict[uuid.UUID, tuple[ChannelIdentity, Citizen]] = {}
    for message, identity, citizen in session.execute(_LOOK_UP, {"wanted": wanted}):
        if message is not None:
            stored[message.id] = message
        if identity is not None:
            writers[identity.id] = (identity, citizen)
    return _Known(list(stored.values()), list(writers.values()))


_ONE: ColumnClause[int] = literal_column("1")  # a constant, not a bound parameter, in the cached plan


def _look_up_statement() -> Select[Message, ChannelIdentity, Citizen]:
    """Built once (PostgreSQL): the same statement object each time skips building and compiling it.

    Each key is looked up by its own LATERAL … LIMIT 1 (a nested loop over the unique indexes),
    whatever the statistics say: as plain joins, the server's cached plan for a batch of 100 keys
    (its guess for a JSON recordset) hashed the whole of `messages` and `channel_identities`
    while their statistics were still small, 4 ms a look-up at 4,000 messages, and growing."""
    wanted = func.json_to_recordset(bindparam("wanted", type_=JSON)).table_valued(
        column("channel", String), column("platform_msg_id", String), column("channel_user_id", String)
    ).render_derived(name="wanted", with_types=True)
    stored = aliased(Message, select(Message).where(
        Message.channel == wanted.c.channel, Message.direction == Direction.IN,
        Message.platform_msg_id == wanted.c.platform_msg_id,
    ).limit(_ONE).lateral("stored"))
    identity = aliased(ChannelIdentity, select(ChannelIdentity).where(
        ChannelIdentity.channel == wanted.c.channel, ChannelIdentity.channel_user_id == wanted.c.channel_user_id,
    ).limit(_ONE).lateral("identity"))
    citizen = aliased(Citizen, select(Citizen).where(Citizen.id == identity.citizen_id).limit(_ONE).lateral("citizen"))
    return (
        select(stored, identity, citizen)
        .select_from(wanted)
        .outerjoin(stored, true())
        .outerjoin(identity, true())
        .outerjoin(citizen, true())
    )


_LOOK_UP = _look_up_statement()


def _find_inbound_many(session: Session, msgs: Sequence[InboundMessage]) -> Sequence[Message]:
    return session.scalars(
        select(Message).where(
            Message.direction == Direction.IN,
            tuple_(Message.channel, Message.platform_msg_id).in_([(m.channel, m.platform_msg_id) for m in msgs]),
        )
    ).all()


def _identities_of(session: Session, msgs: Sequence[InboundMessage]) -> list[tuple[ChannelIdentity, Citizen]]:
    rows = session.execute(
        select(ChannelIdentity, Citizen)
        .join(Citizen, Citizen.id == ChannelIdentity.citizen_id)
        .where(
            tuple_(ChannelIdentity.channel, ChannelIdentity.channel_user_id).in_(
                [(m.channel, m.channel_user_id) for m in msgs]
            )
        )
    ).all()
    return [(identity, citizen) for identity, citizen in rows]


def validate(msg: InboundMessage, settings: IntakeSettings) -> None:
    """Refuse what cannot be a citizen's message before anything is stored."""
    if not msg.has_content:
        raise InvalidMessageError("消息为空，请输入内容。")
    if len(msg.text) > settings.max_chars:
        raise InvalidMessageError(f"消息过长（{len(msg.text)}字），请控制在{settings.max_chars}字以内，分段发送。")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\r\t" for ch in msg.text):
        raise InvalidMessageError("消息包含无法识别的字符，请发送文字内容。")
    if not msg.platform_msg_id or len(msg.platform_msg_id) > 128:
        raise InvalidMessageError("消息缺少有效的编号。")


def _replay(session: Session, inbound: Message) -> InboundResult:
    """Answer a redelivery with what was answered the first time, without sending it again."""
    rows = session.execute(
        select(Message, OutboxEntry.id)
        .join(OutboxEntry, OutboxEntry.message_id == Message.id)
        .where(Message.in_reply_to == inbound.id)
        .order_by(Message.created_at)
    ).all()
    replies = [outbox.reply_from_payload({"text": m.text, **(m.payload or {})}) for m, _ in rows]
    return InboundResult(
        message_id=inbound.id,
        conversation_id=inbound.conversation_id,
        replies=tuple(replies),
        outbox_ids=tuple(entry_id for _, entry_id in rows),
        duplicate=True,
    )


@dataclass
class _Turn:
    """One message's handling; a class only to keep the shared state out of every signature."""

    session: Session
    nlu: Analyzer
    msg: InboundMessage
    settings: IntakeSettings
    now: datetime
    hold: timedelta | None = None
    replies: list[Reply] = field(default_factory=list)
    ticket_number: str | None = None
    new_citizen: bool = False  # first message from this identity: no conversation, ticket or survey yet
    known: tuple[ChannelIdentity, Citizen] | None = None  # the writer as looked up by the caller; None: new
    numbers: NumberBlock | None = None  # a batch's ticket numbers
    answer_in_response: bool = False  # the first reply goes in the webhook's response

    def run(self) -> InboundResult:
        # A redelivery racing this one is caught by the unique platform id when the turn is
        # flushed; `handle_inbound` then starts again and replays what the other one answered.
        self.identity, self.citizen, self.new_citizen = self._identify()
        self.conversation = self._active_conversation()
        self.language = self.citizen.language
        self.inbound = self._store_inbound()
        if self.msg.event != "unsubscribe":
            self._respond()
        self.conversation.updated_at = self.now
        entries = [
            entry
            for reply in self.replies
            for entry in outbox.enqueue(
                self.session,
                conversation=self.conversation,
                reply=reply,
                kind="reply",
                now=self.now,
                in_reply_to=self.inbound.id,
            )
        ]
        # A reply too long for the platform went as parts: what is answered is what was queued.
        self.replies = [outbox.reply_from_payload(entry.payload) for entry in entries]
        passive = None
        if self.answer_in_response:
            passive = answer_in_response(entries, self.replies, now=self.now)
        elif self.hold is not None:
            for entry in entries:
                entry.status, entry.locked_until = OutboxStatus.SENDING, self.now + self.hold
        return InboundResult(
            message_id=self.inbound.id,
            conversation_id=self.conversation.id,
            replies=tuple(self.replies),
            outbox_ids=tuple(e.id for e in entries),
            ticket_number=self.ticket_number,
            passive_reply=passive,
        )

    # -- who is writing -------------------------------------------------------------------------

    def _identify(self) -> tuple[ChannelIdentity, Citizen, bool]:
        """The writer's identity and citizen, and whether they are new (nothing of theirs to look up)."""
        msg, known = self.msg, self.known
        if known is None:
            citizen = Citizen(
                id=uuid.uuid4(),
                display_name=msg.display_name,
                language=texts.language_of(msg.language),
                created_at=self.now,
            )
            identity = ChannelIdentity(
                id=uuid.uuid4(),
                citizen_id=citizen.id,
                channel=msg.channel,
                channel_user_id=msg.channel_user_id,
                chat_id=msg.chat_id,
                display_name=msg.display_name,
                subscribed=msg.event != "unsubscribe",
                last_inbound_at=self.now,
                created_at=self.now,
            )
            self.session.add_all([citizen, identity])
            return identity, citizen, True
        identity, citizen = known
        identity.chat_id = msg.chat_id
        identity.last_inbound_at = self.now
        identity.subscribed = msg.event != "unsubscribe"
        if msg.display_name:
            identity.display_name = msg.display_name
        return identity, citizen, False

    def _active_conversation(self) -> Conversation:
        conversation = None if self.new_citizen else self.session.scalar(
            select(Conversation)
            .where(Conversation.identity_id == self.identity.id, Conversation.state != ConversationState.CLOSED)
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )
        if conversation is None:
            conversation = Conversation(
                id=uuid.uuid4(),
                citizen_id=self.citizen.id,
                identity_id=self.identity.id,
                channel=self.msg.channel,
                chat_id=self.msg.chat_id,
                state=ConversationState.BOT,
                created_at=self.now,
                updated_at=self.now,
            )
            self.session.add(conversation)
        conversation.chat_id = self.msg.chat_id
        return conversation

    def _store_inbound(self) -> Message:
        msg = self.msg
        payload: dict[str, Any] = {}
        if msg.location:
            payload["location"] = {
                "latitude": msg.location.latitude,
                "longitude": msg.location.longitude,
                "label": msg.location.label,
            }
        if msg.attachments:
            payload["attachments"] = [{"kind": a.kind, "file_id": a.file_id, "url": a.url} for a in msg.attachments]
        if msg.button:
            payload["button"] = msg.button
        if msg.event:
            payload["event"] = msg.event
        if msg.edited:
            payload["edited"] = True
        message = Message(
            id=uuid.uuid4(),
            conversation_id=self.conversation.id,
            channel=msg.channel,
            direction=Direction.IN,
            platform_msg_id=msg.platform_msg_id,
            sender="citizen",
            operator_id=None,
            text=msg.text,
            payload=payload or None,
            analysis=None,
            in_reply_to=None,
            created_at=self.now,
        )
        # Every column given, as `outbox.enqueue` does for replies: the ORM writes consecutive rows
        # with the same columns as one multi-row INSERT, so a batch's messages in and out go as one.
        self.session.add(message)
        return message

    # -- what to answer -------------------------------------------------------------------------

    def _say(self, key: str, buttons: Sequence[Button] = (), **values: Any) -> None:
        self.replies.append(Reply(texts.say(key, self.language, **values), tuple(buttons)))

    def _respond(self) -> None:
        msg, conversation = self.msg, self.conversation
        if msg.event == ENTERPRISE_ENTRY:  # 企业热线: the businesses' entry of a channel
            conversation.lane = ENTERPRISE
            self._say("enterprise_welcome", [BUTTON_HUMAN])
            return
        if msg.event in ("start", "subscribe"):
            self._say("welcome", [BUTTON_STATUS])
            return
        if msg.event:  # menu clicks and other events carry no matter of their own
            self._say("help", [BUTTON_STATUS, BUTTON_HUMAN])
            return
        button = msg.button or self._numbered_choice()
        text = "" if button and not msg.button else msg.text
        analysis = self._analyze(text)
        if conversation.state == ConversationState.OPERATOR:
            if (button or "").startswith("survey:") and self._answer_survey(text, button):
                return  # a callback button is unambiguous even while an operator holds the chat
            self._note_on_open_ticket(text)  # the operator answers; the bot keeps quiet
            return
        if analysis is not None and analysis.phone_numbers and not self.citizen.phone:
            self.citizen.phone = analysis.phone_numbers[0]
        draft = conversation.draft
        if self._answer_survey(text, button):
            return
        act = BUTTON_ACTS.get(button or "") or (analysis.act if analysis else DialogueAct.NONE)

        if act == DialogueAct.HUMAN:
            self._hand_off()
            self._say("handoff")
            self._say("queued", ahead=queue_position(self.session, conversation))
        elif act == DialogueAct.STATUS_QUERY or (analysis and analysis.ticket_numbers):
            self._answer_status(analysis.ticket_numbers if analysis else ())
        elif draft is not None:
            self._continue_draft(draft, text, analysis, act)
        elif act in (DialogueAct.GREETING, DialogueAct.HELP):
            self._say("welcome" if act == DialogueAct.GREETING else "help", [BUTTON_STATUS, BUTTON_HUMAN])
        elif act == DialogueAct.THANKS:
            self._say("thanks")
        elif act in (DialogueAct.AFFIRM, DialogueAct.DENY):
            self._say("deny")
        elif analysis is None:  # a photo or a bare pin without words
            self._attach_or_ask()
        elif analysis.faq is not None and analysis.request_type == RequestType.ASK:
            faq = analysis.faq
            self._say("faq_answer", [BUTTON_HUMAN], answer=faq.answer, source=faq.source)
        elif conversation.state == ConversationState.QUEUED and self._supplement_open_ticket(text, analysis):
            pass
        else:
            self._start_matter(text, analysis)

    def _answer_survey(self, text: str, button: str | None) -> bool:
        """A reply to the callback question (回访) goes to the survey, not to a new matter."""
        survey = None if self.new_citizen else open_survey_for(self.session, self.citizen.id)
        if survey is None:
            return False
        answer = read_answer(text, button, survey.step)
        if answer is None:
            return False
        self.replies.extend(answer_survey(self.session, survey=survey, answer=answer, now=self.now))
        return True

    def _numbered_choice(self) -> str | None:
        """On channels without buttons, 「1」 answers the first button of the bot's last message."""
        choice = self.msg.text.strip()
        if not (choice.isdigit() and len(choice) <= 2):
            return None
        last = self.session.scalar(
            select(Message)
            .where(Message.conversation_id == self.conversation.id, Message.direction == Direction.OUT)
            .order_by(Message.created_at.desc())
            .limit(1)
        )
        buttons = (last.payload or {}).get("buttons") if last is not None else None
        index = int(choice) - 1
        if not buttons or not 0 <= index < len(buttons):
            return None
        return str(buttons[index]["payload"])

    def _analyze(self, text: str) -> Analysis | None:
        pin = self.msg.location
        if not text.strip() and pin is None:
            return None
        awaiting = (self.conversation.draft or {}).get("awaiting")
        context = AnalysisContext(
            awaiting=awaiting,
            lane=self.conversation.lane if self.conversation.lane == ENTERPRISE else None,
            channel=self.msg.channel,
            latitude=pin.latitude if pin else None,
            longitude=pin.longitude if pin else None,
            pin_label=pin.label if pin else None,
        )
        analysis = self.nlu.analyze(text or (pin.label if pin and pin.label else ""), context)
        self.inbound.analysis = _analysis_record(analysis)
        if analysis.enterprise is not None:  # a business wrote: the chat goes to the businesses' desk
            self.conversation.lane = ENTERPRISE
        return analysis

    # -- matters and tickets --------------------------------------------------------------------

    def _start_matter(self, text: str, analysis: Analysis) -> None:
        draft = _draft_from(text, analysis, self.msg)
        too_thin = len(analysis.text.strip()) < 4 and analysis.category is None and analysis.location.is_empty
        if too_thin or (not analysis.location.is_empty and _is_only_location(text, analysis)):
            self._say("ask_details", [BUTTON_HUMAN])  # a place alone, or a word, is not yet a matter
            return
        repeated = None if self.new_citizen else repeat_of(
            self.session, citizen_id=self.citizen.id, text=text, street_code=draft.get("street_code"), category=draft.get("category")
        )
        if repeated is not None:  # the same complaint again: chase the open ticket, don't file a second
            self._note_on_open_ticket(text, repeated, kind="repeat")
            self._say("repeat_linked", [BUTTON_STATUS], number=repeated.number,
                      status=texts.status_label(repeated.status, self.language))
            return
        needs_place = analysis.request_type in NEEDS_LOCATION and self.conversation.lane != ENTERPRISE
        if needs_place and not _has_enough_location(draft):
            self.conversation.draft = {**draft, "awaiting": "location", "attempts": 0}
            self._say("ask_location", [BUTTON_CANCEL])
            return
        self._open(draft)

    def _continue_draft(
        self, draft: dict[str, Any], text: str, analysis: Analysis | None, act: DialogueAct
    ) -> None:
        if text.strip().lower() in CANCEL_WORDS or act == DialogueAct.DENY:
            self.conversation.draft = None
            self._say("draft_cancelled")
            return
        merged = dict(draft)
        if analysis is not None:
            _merge_location(merged, analysis)
            if not _is_only_location(text, analysis):
                merged["description"] = f"{draft['description']}\n{text}".strip()
        if self.msg.attachments:
            merged["attachments"] = list(draft.get("attachments") or []) + _attachments(self.msg)
        if _has_enough_location(merged):
            self.conversation.draft = None
            self._open(merged)
            return
        merged["attempts"] = int(draft.get("attempts", 0)) + 1
        if merged["attempts"] > MAX_LOCATION_ATTEMPTS:
            # Do not loop on a citizen we cannot understand: a person takes over with what we have.
            self.conversation.draft = merged
            self._hand_off()
            self._say("handoff")
            return
        self.conversation.draft = merged
        self._say("ask_location_again", [BUTTON_CANCEL])

    def _open(self, fields: dict[str, Any]) -> None:
        fields = {**fields, "lane": self.conversation.lane}
        draft = TicketDraft(**{k: v for k, v in fields.items() if k in TicketDraft.__dataclass_fields__})
        ticket = open_ticket(
            self.session,
            citizen=self.citizen,
            conversation=self.conversation,
            draft=draft,
            now=self.now,
            tz=self.settings.tz,
            number=self.numbers.take(self.now) if self.numbers else None,
        )
        self.ticket_number = ticket.number
        self._hand_off()
        place = draft.place_text() or (
            f"{draft.latitude:.5f}, {draft.longitude:.5f}"
            if draft.latitude is not None and draft.longitude is not None
            else texts.say("ticket_opened_no_place", self.language)
        )
        self._say(
            "ticket_opened",
            [BUTTON_STATUS],
            number=ticket.number,
            request_type=ticket.request_type,
            category=ticket.category or "待人工确认",
            place=place,
        )
        if ticket.urgent:
            self._say("ticket_opened_urgent", cue=ticket.urgency_cue or "")

    def _hand_off(self) -> None:
        if self.conversation.state == ConversationState.BOT:
            self.conversation.state = ConversationState.QUEUED
            self.conversation.handed_off_at = self.now

    def _supplement_open_ticket(self, text: str, analysis: Analysis) -> bool:
        """While waiting for an operator, more words about the same matter go onto its ticket."""
        ticket = self._latest_open_ticket()
        if ticket is None:
            return False
        new_place = analysis.location.street
        if new_place is not None and ticket.street_code and new_place.code != ticket.street_code:
            return False  # a different place: a new matter
        self._note_on_open_ticket(text, ticket)
        self._say("supplement", number=ticket.number)
        return True

    def _note_on_open_ticket(self, text: str, ticket: Ticket | None = None, kind: str = "citizen_message") -> None:
        ticket = ticket or self._latest_open_ticket()
        if ticket is None or not (text.strip() or self.msg.attachments):
            return
        ticket.updated_at = self.now
        self.session.add(
            TicketEvent(
                id=uuid.uuid4(),
                ticket_id=ticket.id,
                kind=kind,
                actor_type="citizen",
                actor_id=str(self.citizen.id),
                note=text or None,
                data={"attachments": _attachments(self.msg)} if self.msg.attachments else None,
                created_at=self.now,
            )
        )

    def _latest_open_ticket(self) -> Ticket | None:
        if self.new_citizen:
            return None
        return self.session.scalar(
            select(Ticket)
            .where(Ticket.conversation_id == self.conversation.id, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.accepted_at.desc())
            .limit(1)
        )

    def _attach_or_ask(self) -> None:
        if self.msg.attachments and self._latest_open_ticket() is not None:
            self._note_on_open_ticket("")
            self._say("attachment_received")
            return
        if self.msg.attachments or self.msg.location:
            self.conversation.draft = None
        self._say("ask_details", [BUTTON_HUMAN])

    # -- status ---------------------------------------------------------------------------------

    def _answer_status(self, numbers: Sequence[str]) -> None:
        tz = self.settings.tz
        if numbers:
            tickets = list(
                self.session.scalars(
                    select(Ticket).where(Ticket.number.in_(numbers), Ticket.citizen_id == self.citizen.id)
                )
            )
            found = {t.number for t in tickets}
            for missing in [n for n in numbers if n not in found]:
                self._say("status_unknown_number", number=missing)
        else:
            tickets = citizen_tickets(self.session, self.citizen.id)
            if not tickets:
                self._say("status_none")
                return
        if not tickets:
            return
        lines = [texts.say("status_header", self.language)]
        for ticket in tickets:
            lines.append(
                texts.say(
                    "status_line",
                    self.language,
                    number=ticket.number,
                    summary=_summary(ticket.description),
                    status=texts.status_label(ticket.status, self.language),
                    updated=local_text(ticket.updated_at, tz),
                )
            )
        if not numbers:
            total = self.session.scalar(select(func.count()).where(Ticket.citizen_id == self.citizen.id)) or 0
            if total > len(tickets):
                lines.append(texts.say("status_more", self.language, more=total - len(tickets)))
        self.replies.append(Reply("\n".join(lines)))


def queue_position(session: Session, conversation: Conversation) -> int:
    """How many handed-off citizens wait ahead of this one."""
    if conversation.handed_off_at is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.state == ConversationState.QUEUED,
                Conversation.handed_off_at < conversation.handed_off_at,
            )
        )
        or 0
    )


def _draft_from(text: str, analysis: Analysis, msg: InboundMessage) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_type": str(analysis.request_type),
        "description": text.strip(),
        "category": analysis.category.label if analysis.category and not analysis.category.unsure else None,
        "category_confidence": analysis.category.confidence if analysis.category else None,
        "contact_phone": analysis.phone_numbers[0] if analysis.phone_numbers else None,
        "urgent": analysis.urgency.urgent,
        "urgency_cue": analysis.urgency.cue,
        "attachments": _attachments(msg) or None,
        "credit_code": analysis.enterprise.credit_code if analysis.enterprise else None,
    }
    _merge_location(fields, analysis)
    return fields


def _merge_location(fields: dict[str, Any], analysis: Analysis) -> None:
    """Take every level the new message names; keep what earlier messages gave for the rest."""
    loc = analysis.location
    for level in ("district", "street", "community"):
        place = getattr(loc, level)
        if place is not None:
            fields[level] = place.name
            fields[f"{level}_code"] = place.code
    if loc.address:
        fields["address"] = loc.address
    if loc.latitude is not None and loc.longitude is not None:
        fields["latitude"], fields["longitude"] = loc.latitude, loc.longitude
    if analysis.urgency.urgent and not fields.get("urgent"):
        fields["urgent"], fields["urgency_cue"] = True, analysis.urgency.cue


def _has_enough_location(fields: dict[str, Any]) -> bool:
    """A unit can be chosen: a district with a street/town or an address, or a map pin."""
    if fields.get("latitude") is not None and fields.get("longitude") is not None:
        return True
    return bool(fields.get("district_code") and (fields.get("street_code") or fields.get("address")))


def _is_only_location(text: str, analysis: Analysis) -> bool:
    """An answer to "where?" adds no new description when little is left once the places are taken out."""
    loc = analysis.location
    rest = unicodedata.normalize("NFKC", text)
    pieces = [p.name for p in (loc.district, loc.street, loc.community) if p]
    pieces += [p.mention for p in (loc.district, loc.street, loc.community) if p]
    for piece in sorted(filter(None, [*pieces, loc.address]), key=len, reverse=True):
        rest = rest.replace(piece, "")
    rest = _FILLER.sub("", rest)
    return len(rest) <= 4


_FILLER = re.compile(r"[\s\W_]|就在|位于|地址是?|在|的|那边|这边|附近|这里|那里|我家|是")


def _attachments(msg: InboundMessage) -> list[dict[str, str | None]]:
    return [{"kind": a.kind, "file_id": a.file_id, "url": a.url} for a in msg.attachments]


def _summary(description: str, width: int = 14) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first if len(first) <= width else first[:width] + "…"


def _analysis_record(analysis: Analysis) -> dict[str, Any]:
    """What the NLU read, kept with the message for operators and retraining. No phone numbers."""
    loc = analysis.location
    return {
        "request_type": str(analysis.request_type),
        "request_type_confidence": round(analysis.request_type_confidence, 4),
        "category": analysis.category.label if analysis.category else None,
        "category_confidence": round(analysis.category.confidence, 4) if analysis.category else None,
        "category_unsure": analysis.category.unsure if analysis.category else None,
        "district": loc.district.code if loc.district else None,
        "street": loc.street.code if loc.street else None,
        "community": loc.community.code if loc.community else None,
        "address": loc.address or None,
        "urgent": analysis.urgency.urgent,
        "urgency_cue": analysis.urgency.cue,
        "faq_id": analysis.faq.faq_id if analysis.faq else None,
        "act": str(analysis.act),
    }
