"""The delivery worker: takes due outbox entries, sends them through their channel, records the result.

Guarantees: entries of one chat go out in the order they were written; an entry that failed is
retried with backoff (or after the platform's `retry_after`) and later entries of that chat wait
for it; an entry recorded as sent is never sent again. The remaining window for a duplicate is a
worker that dies after the platform accepted a message and before the result is committed; the
entry's lease then expires and it is sent again, carrying the same idempotency key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio
from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.orm import Session

from handoff.errors import DeliveryError
from handoff.group_commit import GroupCommit, in_worker_thread
from handoff.messages import ChannelName, Delivery, Sender
from handoff.models import ChannelIdentity, Conversation, Message, OutboxEntry, OutboxStatus, UTCDateTime
from handoff.outbox import reply_from_payload
from handoff.store import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 50  # with the cap below: about eight hours of trying before giving up
    backoff_base: float = 1.0
    backoff_cap: float = 600.0
    poll_interval: float = 1.0
    # After a pass that sent several entries, the next starts no sooner than this: under load a pass then
    # carries what arrived meanwhile, and its claim and its record cost what they cost one entry
    # (at 100 sends a second, 30 passes of 3 entries had cost 4 ms of CPU a send). Off by default
    # (the embedded worker of the demo); the production worker (`api.workers`) uses 0.1 s.
    busy_pass_interval: float = 0.0

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_base * 2.0 ** max(attempts - 1, 0), self.backoff_cap))


@dataclass(frozen=True)
class _Outcome:
    outbox_id: uuid.UUID
    attempt: int  # the entry's attempts once claimed for this send
    sent: bool
    platform_msg_id: str | None = None
    error: str | None = None
    retryable: bool = True
    retry_after: float | None = None


class DeliveryWorker:
    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        senders: Mapping[str, Sender],
        policy: DeliveryPolicy = DeliveryPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        observe: Callable[[str, bool, bool], None] | None = None,
    ) -> None:
        """`observe(channel, sent, final)` hears every recorded outcome (metrics)."""
        self._uow_factory = uow_factory
        self._observe = observe or (lambda channel, sent, final: None)
        self._senders = senders
        self._policy = policy
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._unrecorded: list[_Outcome] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Chats whose sends returned while another chat's results were being written share the next
        # transaction: one commit for many chats under load, still one per chat when quiet.
        self._records: GroupCommit[list[_Outcome], None] = GroupCommit(
            in_worker_thread(self._record_chats), name="delivery-records"
        )

    def wake(self) -> None:
        """Safe from any thread: new entries were committed."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            sent = 0
            try:
                sent = await self.deliver_due()
            except Exception:  # a dead database must not kill the worker: log and try again
                log.exception("delivery pass failed")
            if sent > 1:  # under load; one entry at a time (a chat going back and forth) goes at once
                await asyncio.sleep(self._policy.busy_pass_interval - (loop.time() - started))
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._policy.poll_interval)
            except TimeoutError:
                pass
            self._wakeup.clear()

    async def deliver_due(self) -> int:
        """One pass over what is due; returns how many entries were sent."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._unrecorded:  # what went out while the database was away: noted before anything else
            unrecorded, self._unrecorded = self._unrecorded, []
            try:
                await anyio.to_thread.run_sync(self._record, unrecorded)
            except Exception:
                self._unrecorded = unrecorded + self._unrecorded
                raise
        batches = await anyio.to_thread.run_sync(self._claim)
        if not batches:
            return 0
        results = await asyncio.gather(*(self._send_and_record(batch) for batch in batches))
        return sum(1 for chat_outcomes in results for o in chat_outcomes if o.sent)

    async def _send_and_record(self, batch: list[Delivery]) -> list[_Outcome]:
        # Each chat's results are committed as soon as its sends return (in the next group commit),
        # not after the whole pass: a worker killed after the platform took a message and before
        # this commit sends it again when the lease runs out, so the window is kept to one chat's
        # sends and one transaction.
        outcomes = await self._send_chat(batch)
        try:
            await self._records.submit(outcomes)
        except Exception:
            # The platform has them; only our note of it failed (the database is away). Keep the
            # note and write it first thing next pass, so the lease running out sends nothing twice.
            log.warning("could not record %d outcomes; will retry", len(outcomes), exc_info=True)
            self._unrecorded.extend(outcomes)
        return outcomes

    async def _send_chat(self, batch: list[Delivery]) -> list[_Outcome]:
        outcomes: list[_Outcome] = []
        for delivery in batch:
            outcome = await self._send_one(delivery)
            outcomes.append(outcome)
            if not outcome.sent:
                # Keep the chat's order: what follows waits for this one.
                outcomes.extend(_Outcome(d.outbox_id, d.attempt, sent=False, error=None) for d in batch[len(outcomes) :])
                break
        return outcomes

    async def _send_one(self, delivery: Delivery) -> _Outcome:
        sender = self._senders.get(delivery.channel)
        if sender is None:
            return _Outcome(delivery.outbox_id, delivery.attempt, sent=False,
                            error=f"no channel {delivery.channel!r} configured")
        try:
            platform_id = await sender.send(delivery)
        except DeliveryError as exc:
            return _Outcome(
                delivery.outbox_id,
                delivery.attempt,
                sent=False,
                error=str(exc),
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            )
        except Exception as exc:  # an adapter bug must not stop the other chats
            log.exception("channel %s raised on send", delivery.channel)
            return _Outcome(delivery.outbox_id, delivery.attempt, sent=False, error=f"{type(exc).__name__}: {exc}")
        return _Outcome(delivery.outbox_id, delivery.attempt, sent=True, platform_msg_id=platform_id)

    def _claim(self) -> list[list[Delivery]]:
        """Lease the due entries at the head of each chat's queue.

        Several worker processes may claim at once. On PostgreSQL each takes a transaction-scoped
        advisory lock per chat and skips the chats another worker is claiming (SKIP LOCKED for
        chats), and reads the chat's entries only after taking it, in a statement of its own, so it
        sees the other's leases. SQLite serialises writers anyway (BEGIN IMMEDIATE).
        """
        now = self._clock()
        with self._uow_factory() as uow:
            session = uow.session
            if session.get_bind().dialect.name == "postgresql":
                batches = self._claim_on_postgresql(session, now)
            else:
                batches = self._claim_with_orm(session, now)
            uow.commit()
            return batches

    def _claim_on_postgresql(self, session: Session, now: datetime) -> list[list[Delivery]]:
        # Two statements, not one: a statement's snapshot is taken when it starts, before the
        # advisory locks it would take, so it could miss the leases of a worker that committed them
        # (and let go of the chat) in between.
        chats = claim_chats(session, now, self._policy.batch_size)
        if not chats:
            return []
        rows = session.execute(_CLAIM_ENTRIES, {
            "chats": json.dumps([{"channel": channel, "chat_id": chat} for channel, chat in chats]),
            "now": now,
            "lease_end": now + self._policy.lease,
            "most": self._policy.batch_size,
        })
        batches: dict[tuple[str, str], list[Delivery]] = {}
        for row in rows:  # oldest first: each chat's entries in order
            batches.setdefault((row.channel, row.chat_id), []).append(_delivery(row, row.last_inbound_at))
        return list(batches.values())

    def _claim_with_orm(self, session: Session, now: datetime) -> list[list[Delivery]]:
        unsent = session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .order_by(OutboxEntry.created_at, OutboxEntry.id)
            .limit(self._policy.batch_size)
        ).all()
        per_chat: dict[tuple[str, str], list[OutboxEntry]] = {}
        blocked: set[tuple[str, str]] = set()
        for entry in unsent:
            key = (entry.channel, entry.chat_id)
            if key in blocked:
                continue
            leased = entry.status == OutboxStatus.SENDING and (entry.locked_until or now) > now
            if leased or entry.next_attempt_at > now:
                blocked.add(key)  # an earlier entry is in flight or waiting: keep order
                continue
            per_chat.setdefault(key, []).append(entry)
        last_inbound = _last_inbound(session, {e.conversation_id for es in per_chat.values() for e in es})
        batches: list[list[Delivery]] = []
        for entries in per_chat.values():
            batch = []
            for entry in entries:
                entry.status = OutboxStatus.SENDING
                entry.locked_until = now + self._policy.lease
                entry.attempts += 1
                batch.append(_delivery(entry, last_inbound.get(entry.conversation_id)))
            batches.append(batch)
        return batches

    def _record_chats(self, chats: Sequence[list[_Outcome]]) -> list[None]:
        self._record([outcome for outcomes in chats for outcome in outcomes])
        return [None] * len(chats)

    def _record(self, outcomes: list[_Outcome]) -> None:
        now = self._clock()
        with self._uow_factory() as uow:
            session = uow.session
            if session.get_bind().dialect.name == "postgresql":
                self._record_on_postgresql(session, outcomes, now)
            else:
                self._record_with_orm(session, outcomes, now)
            uow.commit()

    def _record_on_postgresql(self, session: Session, outcomes: list[_Outcome], now: datetime) -> None:
        # One statement is its own transaction: no BEGIN and COMMIT round trips. An entry's tries
        # are counted as its claim counted them (the row's count, unless the lease ran out and
        # another worker claimed it again), so nothing needs reading first.
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        results = [self._result(outcome, outcome.attempt, now) for outcome in outcomes]
        rows = session.execute(_RECORD, {"outcomes": _results_json(outcomes, results), "now": now})
        channels = {outbox_id: channel for outbox_id, channel in rows}  # the entries still being sent
        for outcome, result in zip(outcomes, results, strict=True):
            channel = channels.get(outcome.outbox_id)
            if channel is not None:
                self._heard(channel, outcome, result)

    def _record_with_orm(self, session: Session, outcomes: list[_Outcome], now: datetime) -> None:
        # One query for the entries and one for their messages, not one each.
        entries = {e.id: e for e in session.scalars(
            select(OutboxEntry).where(OutboxEntry.id.in_([o.outbox_id for o in outcomes])))}
        message_ids = [e.message_id for e in entries.values() if e.message_id is not None]
        messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(message_ids)))} \
            if message_ids else {}
        for outcome in outcomes:
            entry = entries.get(outcome.outbox_id)
            if entry is None or entry.status != OutboxStatus.SENDING:
                continue
            result = self._result(outcome, entry.attempts, now)
            entry.locked_until = None
            entry.status = result.status
            if result.untried:
                entry.attempts -= 1
            if result.error is not None:
                entry.last_error = result.error
            if result.next_attempt_at is not None:
                entry.next_attempt_at = result.next_attempt_at
            if outcome.sent:
                entry.sent_at = now
                entry.platform_msg_id = outcome.platform_msg_id
                message = messages.get(entry.message_id) if entry.message_id is not None else None
                if message is not None and outcome.platform_msg_id:
                    message.platform_msg_id = outcome.platform_msg_id
            self._heard(entry.channel, outcome, result)

    def _result(self, outcome: _Outcome, attempts: int, now: datetime) -> _Result:
        """What the outcome of a send makes of its entry, `attempts` tries counted."""
        if outcome.sent:
            return _Result(OutboxStatus.SENT)
        if outcome.error is None:  # not tried: it waited behind a failed entry
            return _Result(OutboxStatus.PENDING, untried=True)
        error = outcome.error[:2000]
        if not outcome.retryable or attempts >= self._policy.max_attempts:
            return _Result(OutboxStatus.FAILED, error=error)
        delay = outcome.retry_after if outcome.retry_after is not None else self._policy.backoff(attempts)
        return _Result(OutboxStatus.PENDING, error=error, next_attempt_at=now + timedelta(seconds=delay))

    def _heard(self, channel: str, outcome: _Outcome, result: _Result) -> None:
        if result.untried:
            return
        self._observe(channel, outcome.sent, result.status == OutboxStatus.FAILED)
        if result.status == OutboxStatus.FAILED:
            log.warning("outbox %s failed for good: %s", outcome.outbox_id, outcome.error)


@dataclass(frozen=True)
class _Result:
    """An entry's new state after a send (when it was still being sent)."""

    status: OutboxStatus
    untried: bool = False  # it waited behind a failed entry: the claim's attempt is given back
    error: str | None = None
    next_attempt_at: datetime | None = None


class _Entry(Protocol):
    """An outbox entry's fields a send needs: an `OutboxEntry`, or a row of `_CLAIM_ENTRIES`."""

    id: uuid.UUID
    channel: str
    chat_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None


def _delivery(entry: _Entry, last_inbound_at: datetime | None) -> Delivery:
    channel: ChannelName = entry.channel  # type: ignore[assignment]
    return Delivery(
        outbox_id=entry.id,
        channel=channel,
        chat_id=entry.chat_id,
        reply=reply_from_payload(entry.payload),
        kind=entry.kind,
        attempt=entry.attempts,
        idempotency_key=str(entry.id),
        conversation_id=entry.conversation_id,
        message_id=entry.message_id,
        last_inbound_at=last_inbound_at,
    )


def _results_json(outcomes: list[_Outcome], results: list[_Result]) -> str:
    """The outcomes as `_RECORD`'s recordset."""
    return json.dumps([
        {
            "id": str(outcome.outbox_id),
            "status": str(result.status),
            "untried": result.untried,
            "platform_msg_id": outcome.platform_msg_id if outcome.sent else None,
            "error": result.error,
            "next_attempt_at": result.next_attempt_at.isoformat() if result.next_attempt_at else None,
        }
        for outcome, result in zip(outcomes, results, strict=True)
    ], ensure_ascii=False)


def _last_inbound(session: Session, conversation_ids: set[uuid.UUID | None]) -> dict[uuid.UUID | None, datetime | None]:
    """When each conversation's citizen last wrote (WeChat's 48-hour window), in one query."""
    wanted = [c for c in conversation_ids if c is not None]
    if not wanted:
        return {}
    rows = session.execute(
        select(Conversation.id, ChannelIdentity.last_inbound_at)
        .join(ChannelIdentity, Conversation.identity_id == ChannelIdentity.id)
        .where(Conversation.id.in_(wanted))
    )
    return {conversation_id: last for conversation_id, last in rows}


# The PostgreSQL statements are built once (their text does not depend on how many chats or
# entries: those are one JSON parameter), so SQLAlchemy caches them and psycopg prepares them.
_PENDING, _SENDING, _SENT = (f"'{status}'" for status in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT))
# An entry that could go now if nothing earlier in its chat waits: due, and not leased.
_FREE = f"(o.next_attempt_at <= :now AND (o.status = {_PENDING} OR o.locked_until IS NULL OR o.locked_until <= :now))"
_UNSENT = f"o.status IN ({_PENDING}, {_SENDING})"
_TIME = UTCDateTime()

# The chats with a free entry that no other worker is claiming right now; the advisory locks last
# until the claim's transaction commits its leases. (Not in the LIMIT's subquery: only the chats
# returned are locked.) The key is the one earlier workers took: old and new may run side by side.
_CLAIM_CHATS = text(f"""
    SELECT c.channel, c.chat_id
    FROM (SELECT DISTINCT o.channel, o.chat_id FROM outbox AS o WHERE {_UNSENT} AND {_FREE} LIMIT :most) AS c
    WHERE pg_try_advisory_xact_lock(hashtext('outbox:' || c.channel || chr(31) || c.chat_id))
""").bindparams(bindparam("now", type_=_TIME))

# Leases the head of each taken chat's queue (its entries up to the first one not free, the oldest
# `most` unsent entries of these chats considered) and returns them, oldest first, with when their
# citizen last wrote.
_CLAIM_ENTRIES = text(f"""
    WITH unsent AS (
        SELECT o.id, bool_and({_FREE}) OVER (PARTITION BY o.channel, o.chat_id ORDER BY o.created_at, o.id) AS free
        FROM outbox AS o
        JOIN json_to_recordset(CAST(:chats AS json)) AS t(channel text, chat_id text)
            ON o.channel = t.channel AND o.chat_id = t.chat_id
        WHERE {_UNSENT}
        ORDER BY o.created_at, o.id
        LIMIT :most
    ), claimed AS (
        UPDATE outbox AS o SET status = {_SENDING}, locked_until = :lease_end, attempts = o.attempts + 1
        FROM unsent AS u WHERE o.id = u.id AND u.free
        RETURNING o.id, o.channel, o.chat_id, o.kind, o.payload, o.attempts, o.conversation_id, o.message_id,
                  o.created_at
    )
    SELECT c.id, c.channel, c.chat_id, c.kind, c.payload, c.attempts, c.conversation_id, c.message_id,
           i.last_inbound_at
    FROM claimed AS c
    LEFT JOIN conversations AS v ON v.id = c.conversation_id
    LEFT JOIN channel_identities AS i ON i.id = v.identity_id
    ORDER BY c.created_at, c.id
""").bindparams(bindparam("now", type_=_TIME), bindparam("lease_end", type_=_TIME)).columns(
    *(OutboxEntry.__table__.c[name] for name in
      ("id", "channel", "chat_id", "kind", "payload", "attempts", "conversation_id", "message_id")),
    ChannelIdentity.__table__.c.last_inbound_at,
)

# Writes the outcomes of the entries still being sent (and a sent one's platform id on its
# message); returns those entries and their channels.
_RECORD = text(f"""
    WITH r AS (
        SELECT * FROM json_to_recordset(CAST(:outcomes AS json)) AS r(
            id uuid, status text, untried boolean, platform_msg_id text, error text, next_attempt_at timestamptz)
    ), recorded AS (
        UPDATE outbox AS o SET
            status = r.status,
            locked_until = NULL,
            attempts = CASE WHEN r.untried THEN o.attempts - 1 ELSE o.attempts END,
            sent_at = CASE WHEN r.status = {_SENT} THEN :now ELSE o.sent_at END,
            platform_msg_id = CASE WHEN r.status = {_SENT} THEN r.platform_msg_id ELSE o.platform_msg_id END,
            last_error = coalesce(r.error, o.last_error),
            next_attempt_at = coalesce(r.next_attempt_at, o.next_attempt_at)
        FROM r WHERE o.id = r.id AND o.status = {_SENDING}
        RETURNING o.id, o.channel, o.message_id, r.platform_msg_id
    ), noted AS (
        UPDATE messages AS m SET platform_msg_id = d.platform_msg_id
        FROM recorded AS d WHERE m.id = d.message_id AND d.platform_msg_id <> ''
    )
    SELECT id, channel FROM recorded
""").bindparams(bindparam("now", type_=_TIME)).columns(OutboxEntry.__table__.c.id, OutboxEntry.__table__.c.channel)


def claim_chats(session: Session, now: datetime, most: int) -> list[tuple[str, str]]:
    """PostgreSQL: up to `most` chats with a free entry that no other worker is claiming right now.

    The advisory locks last until this transaction commits its leases."""
    return [(channel, chat) for channel, chat in session.execute(_CLAIM_CHATS, {"now": now, "most": most})]


_PENDING_COUNT = select(func.count()).select_from(OutboxEntry).where(
    or_(OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.status == OutboxStatus.SENDING))


def pending_count(uow: UnitOfWork) -> int:
    """Entries not yet delivered (for health checks and tests)."""
    with uow:
        return uow.session.scalar(_PENDING_COUNT) or 0
