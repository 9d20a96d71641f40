"""Passive replies: answering a webhook inside its own HTTP response (WeChat's five seconds).

`handle_inbound(hold_replies=...)` writes the replies held; `take_passive_reply` then decides, in
one transaction, which reply the response carries and gives the others to the delivery worker. A
platform retry of the same callback gets the same reply again, unless it already went out another
way, so nothing is said twice. A batch that is still in time settles the reply as it writes it
(`answer_in_response`), and needs no second transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from handoff.messages import InboundResult, Reply
from handoff.models import OutboxEntry, OutboxStatus
from handoff.store import UnitOfWork

PASSIVE = "passive"  # the platform id of a reply sent in the response
# The rest follow the passive reply through the worker a moment later, to keep the chat's order.
FOLLOW_AFTER = timedelta(seconds=1)


def answer_in_response(entries: Sequence[OutboxEntry], replies: Sequence[Reply], *, now: datetime) -> Reply | None:
    """Settle, in the transaction that wrote them, the first reply as answered in the response and
    the rest as following through the worker. For an intake that is still in time: saves the second
    transaction of `take_passive_reply`, and is as safe, since a retry of the callback finds the
    reply marked passive and gets it again."""
    if not entries:
        return None
    first, *rest = entries
    _mark_answered(first, now)
    for entry in rest:
        entry.next_attempt_at = now + FOLLOW_AFTER
    return replies[0]


def _mark_answered(entry: OutboxEntry, now: datetime) -> None:
    entry.status, entry.sent_at, entry.locked_until = OutboxStatus.SENT, now, None
    entry.attempts, entry.platform_msg_id = 1, PASSIVE


def take_passive_reply(
    uow: UnitOfWork, result: InboundResult, *, in_time: bool, now: datetime | None = None
) -> Reply | None:
    """The reply to put in the response, or None (answer "success"); the rest go to the worker.

    `in_time` is False when the engine was too slow for the platform's deadline: then every reply
    goes through the worker.
    """
    moment = now or datetime.now(UTC)
    passive: Reply | None = None
    with uow:
        for index, entry_id in enumerate(result.outbox_ids):
            entry = uow.session.get(OutboxEntry, entry_id)
            if entry is None:
                continue
            held = entry.status == OutboxStatus.SENDING and entry.attempts == 0  # not claimed by a worker
            answered_before = entry.status == OutboxStatus.SENT and entry.platform_msg_id == PASSIVE
            if index == 0 and in_time and (held or answered_before):
                if held:
                    _mark_answered(entry, moment)
                passive = result.replies[0]
            elif held:
                entry.status, entry.locked_until = OutboxStatus.PENDING, None
                entry.next_attempt_at = moment + (FOLLOW_AFTER if passive is not None else timedelta(0))
        uow.commit()
    return passive
