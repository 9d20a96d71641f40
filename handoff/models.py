"""The store: SQLAlchemy 2 mapped classes. One schema for SQLite and PostgreSQL.

The Alembic history in `handoff/migrations/` is the schema; `tests/handoff/test_migrations.py`
fails when these classes and the migrations drift apart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, uuid.UUID: Uuid}


class TicketStatus(StrEnum):
    """受理 → 派单 → 签收 → 办理中 → 办结 → 回访 → 归档, with 退回, 重办 and 撤销."""

    ACCEPTED = "accepted"  # 已受理
    DISPATCHED = "dispatched"  # 已派单
    SIGNED = "signed"  # 已签收
    IN_PROGRESS = "in_progress"  # 办理中
    RESOLVED = "resolved"  # 已办结
    SURVEYED = "surveyed"  # 已回访
    ARCHIVED = "archived"  # 已归档
    RETURNED = "returned"  # 已退回 (the unit sent it back to the center)
    REOPENED = "reopened"  # 重办 (二次办理)
    CANCELLED = "cancelled"  # 已撤销


class ConversationState(StrEnum):
    BOT = "bot"  # the bot answers
    QUEUED = "queued"  # handed off, waiting for an operator; the bot still answers what it can
    OPERATOR = "operator"  # an operator holds the chat; the bot is quiet
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker until `locked_until`
    SENT = "sent"
    FAILED = "failed"  # permanent failure, kept for operators to see


class UnitKind(StrEnum):
    DISTRICT = "district"
    STREET = "street"  # 街道 / 乡镇 (属地)
    ZONE = "zone"  # development zones and the airport: handle tickets, not ranked as streets
    DEPARTMENT = "department"  # 职能部门
    COMPANY = "company"  # utilities and state companies


class Role(StrEnum):
    OPERATOR = "operator"
    UNIT_HANDLER = "unit_handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[uuid.UUID] = _uuid_pk()
    display_name: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # never logged in clear
    language: Mapped[str] = mapped_column(String(16), default="zh")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="citizen")


class ChannelIdentity(Base):
    """A citizen as one platform knows them; a citizen may have several."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id", name="uq_identity_channel_user"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_user_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(128))
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column()  # opens WeChat's 48-hour window
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="identities")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_state_updated", "state", "updated_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), index=True)
    identity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("channel_identities.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT)
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"))
    # A matter the bot is still collecting (description, NLU guesses, the slot it asked for).
    draft: Mapped[dict[str, Any] | None] = mapped_column()
    lane: Mapped[str] = mapped_column(String(16), default="citizen")  # citizen, or enterprise (企业热线)
    handed_off_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()

    identity: Mapped[ChannelIdentity] = relationship()


class Message(Base):
    """Every message in and out; `platform_msg_id` makes redeliveries harmless."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "platform_msg_id", name="uq_message_platform_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))
    platform_msg_id: Mapped[str | None] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(16))  # citizen, bot, operator, system
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column()  # location, attachments, buttons
    analysis: Mapped[dict[str, Any] | None] = mapped_column()  # what the NLU read, for review
    in_reply_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Declared so that one flush writes parents before children; never loaded.
    conversation: Mapped[Conversation] = relationship(lazy="raise")


class Unit(Base):
    """A handling unit: a district, a street/town office, a department or a company."""

    __tablename__ = "units"

    id: Mapped[uuid.UUID] = _uuid_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)  # official code, or dept:<slug>
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingRule(Base):
    """Which unit handles what: by administrative code prefix or by category."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("match_kind", "match_value", "unit_id", name="uq_routing_rule"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    match_kind: Mapped[str] = mapped_column(String(16))  # "admin_code" or "category"
    match_value: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)

    unit: Mapped[Unit] = relationship()


class Operator(Base):
    """A person who works in the console: operator, unit handler, supervisor or admin."""

    __tablename__ = "operators"

    id: Mapped[uuid.UUID] = _uuid_pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    lanes: Mapped[str] = mapped_column(String(64), default="citizen")  # queues served: citizen,enterprise
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_urgent", "status", "urgent"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    number: Mapped[str] = mapped_column(String(16), unique=True)  # 2026112300123, read aloud
    citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), index=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # status updates go back here
    chat_id: Mapped[str] = mapped_column(String(128))
    request_type: Mapped[str] = mapped_column(String(8))  # 咨询 求助 投诉 举报 建议 表扬
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    category_confidence: Mapped[float | None] = mapped_column(Float)
    district: Mapped[str | None] = mapped_column(String(64))
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    street: Mapped[str | None] = mapped_column(String(64))
    street_code: Mapped[str | None] = mapped_column(String(12), index=True)
    community: Mapped[str | None] = mapped_column(String(128))
    community_code: Mapped[str | None] = mapped_column(String(12))
    address: Mapped[str | None] = mapped_column(String(256))
    admin_code: Mapped[str | None] = mapped_column(String(12), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(128))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    urgency_cue: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(16), default="citizen", index=True)  # enterprise: 企业热线
    credit_code: Mapped[str | None] = mapped_column(String(18))  # the business's 统一社会信用代码
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.ACCEPTED, index=True)
    attachments: Mapped[dict[str, Any] | None] = mapped_column()
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    in_progress_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    surveyed_at: Mapped[datetime | None] = mapped_column()
    archived_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()
    reopened_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    sign_deadline: Mapped[datetime | None] = mapped_column()
    resolve_deadline: Mapped[datetime | None] = mapped_column()
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"), index=True)
    # 双反馈: the handling result reported to the center and to the citizen; both before closing.
    center_feedback_at: Mapped[datetime | None] = mapped_column()
    citizen_feedback_at: Mapped[datetime | None] = mapped_column()
    confirmed_at: Mapped[datetime | None] = mapped_column()  # an operator checked the NLU's guesses
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.created_at"
    )
    # Declared so that one flush writes parents before children; never loaded.
    citizen: Mapped[Citizen] = relationship(lazy="raise")
    conversation: Mapped[Conversation | None] = relationship(lazy="raise")


class TicketEvent(Base):
    """The audit trail: every step of a ticket, who took it and when."""

    __tablename__ = "ticket_events"

    id: Mapped[uuid.UUID] = _uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # status, note, citizen_message, assignment, ...
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_type: Mapped[str] = mapped_column(String(16))  # citizen, bot, operator, unit, system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketCounter(Base):
    """Per-day sequence behind readable ticket numbers (the day in the hotline's time zone)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class OutboxEntry(Base):
    """Everything sent to citizens, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128), index=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversations.id"))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id"))
    kind: Mapped[str] = mapped_column(String(16))  # reply, status, operator, survey
    payload: Mapped[dict[str, Any]] = mapped_column()  # {"text": ..., "buttons": [...]}
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_msg_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    # Declared so that one flush writes parents before children; never loaded.
    conversation: Mapped[Conversation | None] = relationship(lazy="raise")
    ticket: Mapped[Ticket | None] = relationship(lazy="raise")
    message: Mapped[Message | None] = relationship(lazy="raise")


class AssignmentStatus(StrEnum):
    DISPATCHED = "dispatched"  # 已派单, waiting for the unit to sign
    SIGNED = "signed"  # 已签收
    IN_PROGRESS = "in_progress"  # 办理中
    RESOLVED = "resolved"  # 已办结 (the unit reported its result)
    RETURNED = "returned"  # 已退回 (the unit sent it back, with a reason)
    WITHDRAWN = "withdrawn"  # the center took it back (reassigned)


class TicketAssignment(Base):
    """One unit's part in a ticket (派单): a ticket may go to several units at once."""

    __tablename__ = "ticket_assignments"
    __table_args__ = (Index("ix_assignments_unit_status", "unit_id", "status"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    lead: Mapped[bool] = mapped_column(Boolean, default=True)  # 主办 (or 协办)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.DISPATCHED)
    dispatched_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"))
    dispatched_at: Mapped[datetime] = mapped_column(default=utcnow)
    sign_deadline: Mapped[datetime] = mapped_column()
    resolve_deadline: Mapped[datetime] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()  # 改派: the center took it away
    return_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # the result reported to the center
    reminders: Mapped[int] = mapped_column(Integer, default=0)  # 督办 count
    last_reminded_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship()


class SlaRule(Base):
    """How long a unit has to sign and to resolve; the most specific rule wins."""

    __tablename__ = "sla_rules"
    __table_args__ = (UniqueConstraint("category", "urgent", name="uq_sla_rule"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    category: Mapped[str | None] = mapped_column(String(64))  # None: every category
    urgent: Mapped[bool] = mapped_column(Boolean)
    sign_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)


class OperatorSession(Base):
    """A console login. Only the token's hash is stored; it expires."""

    __tablename__ = "operator_sessions"

    id: Mapped[uuid.UUID] = _uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedReply(Base):
    """Ready answers an operator inserts with a shortcut such as /wait."""

    __tablename__ = "canned_replies"

    id: Mapped[uuid.UUID] = _uuid_pk()
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)


class NluFeedback(Base):
    """What the NLU guessed and what an operator confirmed: labelled data for retraining."""

    __tablename__ = "nlu_feedback"

    id: Mapped[uuid.UUID] = _uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"))
    text: Mapped[str] = mapped_column(Text)
    predicted: Mapped[dict[str, Any]] = mapped_column()
    confirmed: Mapped[dict[str, Any]] = mapped_column()
    corrected_fields: Mapped[dict[str, Any]] = mapped_column()  # {"fields": [...]} that differ
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SharedCredential(Base):
    """A platform credential every process shares (WeChat's access token): fetched once, renewed
    by whichever process finds it about to expire, under a row lock."""

    __tablename__ = "shared_credentials"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # e.g. wechat:<app id>:access_token
    value: Mapped[str | None] = mapped_column(Text)  # None: invalidated, fetch a new one
    expires_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CitizenLink(Base):
    """An operator's decision that two citizen records are one person (same phone on two platforms)."""

    __tablename__ = "citizen_links"

    id: Mapped[uuid.UUID] = _uuid_pk()
    kept_citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), index=True)
    merged_citizen_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("citizens.id"), unique=True)
    operator: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))  # same_phone
    moved: Mapped[dict[str, Any]] = mapped_column()  # {"identities": n, "conversations": n, "tickets": n}
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyStatus(StrEnum):
    PENDING = "pending"  # waiting for its first ask
    ASKED = "asked"  # a question is out, waiting for the citizen
    ANSWERED = "answered"
    UNREACHABLE = "unreachable"  # asked the configured number of times without an answer


class Survey(Base):
    """回访: after a ticket is closed, was it solved and is the citizen satisfied? One per round."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_survey_ticket_round"),
        Index("ix_surveys_status_next", "status", "next_ask_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), index=True)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # 2 after a 二次办理
    status: Mapped[str] = mapped_column(String(16), default=SurveyStatus.PENDING)
    step: Mapped[str] = mapped_column(String(16), default="resolved")  # resolved, satisfaction, reopen, done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_ask_at: Mapped[datetime] = mapped_column()
    asked_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction: Mapped[str | None] = mapped_column(String(8))  # 满意 基本满意 不满意
    comment: Mapped[str | None] = mapped_column(Text)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key for Open311 clients that file requests; only its hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
