"""The delivery worker: takes due outbox entries, sends them through their channel, records the result.

Guarantees: entries of one chat go out in the order they were written; an entry that failed is
retried with backoff (or after the platform's `retry_after`) and later entries of that chat wait
for it; an entry recorded as sent is never sent again. The remaining window for a duplicate is a
worker that dies after the platform accepted a message and before the result is committed; the
entry's lease then expires and it is sent again, carrying the same idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import Select, func, or_, select, text, tuple_
from sqlalchemy.orm import Session

from handoff.bulk import update_changed_rows
from handoff.errors import DeliveryError
from handoff.group_commit import GroupCommit, in_worker_thread
from handoff.messages import ChannelName, Delivery, Sender
from handoff.models import ChannelIdentity, Conversation, Message, OutboxEntry, OutboxStatus
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
                outcomes.extend(_Outcome(d.outbox_id, sent=False, error=None) for d in batch[len(outcomes) :])
                break
        return outcomes

    async def _send_one(self, delivery: Delivery) -> _Outcome:
        sender = self._senders.get(delivery.channel)
        if sender is None:
            return _Outcome(delivery.outbox_id, sent=False, error=f"no channel {delivery.channel!r} configured")
        try:
            platform_id = await sender.send(delivery)
        except DeliveryError as exc:
            return _Outcome(
                delivery.outbox_id,
                sent=False,
                error=str(exc),
                retryable=exc.retryable,
                retry_after=exc.retry_after,
            )
        except Exception as exc:  # an adapter bug must not stop the other chats
            log.exception("channel %s raised on send", delivery.channel)
            return _Outcome(delivery.outbox_id, sent=False, error=f"{type(exc).__name__}: {exc}")
        return _Outcome(delivery.outbox_id, sent=True, platform_msg_id=platform_id)

    def _claim(self) -> list[list[Delivery]]:
        """Lease the due entries at the head of each chat's queue.

        Several worker processes may claim at once. On PostgreSQL each takes a transaction-scoped
        advisory lock per chat and skips the chats another worker is claiming (SKIP LOCKED for
        chats), and reads the chat's entries only after taking it, so it sees the other's leases.
        SQLite serialises writers anyway (BEGIN IMMEDIATE).
        """
        now = self._clock()
        with self._uow_factory() as uow:
            session = uow.session
            unsent_query = (
                select(OutboxEntry)
                .where(OutboxEntry.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
                .order_by(OutboxEntry.created_at, OutboxEntry.id)
                .limit(self._policy.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                chats = claim_chats(session, unsent_query)
                unsent_query = unsent_query.where(tuple_(OutboxEntry.channel, OutboxEntry.chat_id).in_(chats))
            unsent = session.scalars(unsent_query).all()
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
                    batch.append(self._delivery(entry, last_inbound.get(entry.conversation_id)))
                batches.append(batch)
            update_changed_rows(session)  # one statement on PostgreSQL, not a round trip an entry
            uow.commit()
            return batches

    def _delivery(self, entry: OutboxEntry, last_inbound_at: datetime | None) -> Delivery:
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

    def _record_chats(self, chats: Sequence[list[_Outcome]]) -> list[None]:
        self._record([outcome for outcomes in chats for outcome in outcomes])
        return [None] * len(chats)

    def _record(self, outcomes: list[_Outcome]) -> None:
        now = self._clock()
        with self._uow_factory() as uow:
            session = uow.session
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
                entry.locked_until = None
                if outcome.sent:
                    self._observe(entry.channel, True, False)
                    entry.status = OutboxStatus.SENT
                    entry.sent_at = now
                    entry.platform_msg_id = outcome.platform_msg_id
                    message = messages.get(entry.message_id) if entry.message_id is not None else None
                    if message is not None and outcome.platform_msg_id:
                        message.platform_msg_id = outcome.platform_msg_id
                    continue
                if outcome.error is None:  # not tried: it waited behind a failed entry
                    entry.status = OutboxStatus.PENDING
                    entry.attempts -= 1
                    continue
                entry.last_error = outcome.error[:2000]
                final = not outcome.retryable or entry.attempts >= self._policy.max_attempts
                self._observe(entry.channel, False, final)
                if final:
                    entry.status = OutboxStatus.FAILED
                    log.warning("outbox %s failed for good: %s", entry.id, outcome.error)
                    continue
                entry.status = OutboxStatus.PENDING
                delay = outcome.retry_after if outcome.retry_after is not None else self._policy.backoff(entry.attempts)
                entry.next_attempt_at = now + timedelta(seconds=delay)
            update_changed_rows(session)
            uow.commit()


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


def claim_chats(session: Session, unsent: Select[OutboxEntry]) -> list[tuple[str, str]]:
    """PostgreSQL: the chats with unsent entries that no other worker is claiming right now.

    The advisory locks last until this transaction commits its leases."""
    heads = unsent.with_only_columns(OutboxEntry.channel, OutboxEntry.chat_id).order_by(None)
    keys = {f"{channel}\x1f{chat}" for channel, chat in session.execute(heads.distinct())}
    if not keys:
        return []
    taken = session.scalars(
        text("SELECT k FROM unnest(CAST(:keys AS text[])) AS k WHERE pg_try_advisory_xact_lock(hashtext('outbox:' || k))"),
        {"keys": sorted(keys)},
    ).all()
    return [(channel, chat) for channel, chat in (str(key).split("\x1f", 1) for key in taken)]


def pending_count(uow: UnitOfWork) -> int:
    """Entries not yet delivered (for health checks and tests)."""
    with uow:
        return uow.session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(or_(OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.status == OutboxStatus.SENDING))
        ) or 0
