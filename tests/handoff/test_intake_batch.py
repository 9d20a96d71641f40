"""Group commit: many citizens' messages in one transaction behave as if each came alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from handoff.errors import InvalidMessageError
from handoff.intake import Submission, handle_batch, handle_inbound
from handoff.messages import InboundResult
from handoff.models import Message, OutboxEntry, Ticket
from handoff.store import UnitOfWork
from tests.fakes import FakeNlu
from tests.handoff.test_intake import DEMO, NOW, count, inbound


def batch(uow_factory: Callable[[], UnitOfWork], *msgs) -> list[InboundResult | InvalidMessageError]:  # type: ignore[no-untyped-def]
    return handle_batch(uow_factory, nlu=FakeNlu(), submissions=[Submission(m) for m in msgs], now=NOW)


def test_each_citizen_of_a_batch_gets_a_ticket_number_of_their_own(uow_factory) -> None:
    results = batch(uow_factory, *(inbound(DEMO, user=f"b{n}") for n in range(5)))

    numbers = [r.ticket_number for r in results if isinstance(r, InboundResult)]
    assert len(set(numbers)) == 5 and all(numbers)
    assert all(r.ticket_number in r.replies[0].text for r in results if isinstance(r, InboundResult))
    assert count(uow_factory, Ticket) == 5 and count(uow_factory, OutboxEntry) == 5
    with uow_factory() as uow:
        chats = uow.session.scalars(select(OutboxEntry.chat_id).order_by(OutboxEntry.chat_id)).all()
    assert chats == [f"chat-b{n}" for n in range(5)]  # every reply goes to its own citizen


def test_two_messages_of_one_citizen_in_a_batch_are_a_dialogue(uow_factory) -> None:
    asked, answered = batch(uow_factory, inbound("楼下垃圾堆了三天没人清理", user="c1"), inbound("朝阳区望京街道", user="c1"))

    assert isinstance(asked, InboundResult) and isinstance(answered, InboundResult)
    assert asked.ticket_number is None and "位置" in asked.replies[0].text
    assert answered.ticket_number is not None
    with uow_factory() as uow:
        ticket = uow.session.scalars(select(Ticket)).one()
    assert (ticket.description, ticket.street) == ("楼下垃圾堆了三天没人清理", "望京街道")


def test_a_redelivery_in_or_after_a_batch_changes_nothing(uow_factory) -> None:
    first = handle_inbound(uow_factory(), nlu=FakeNlu(), msg=inbound(DEMO, user="d1", msg_id="dup-a"), now=NOW)
    again, new, new_again = batch(
        uow_factory,
        inbound(DEMO, user="d1", msg_id="dup-a"),
        inbound(DEMO, user="d2", msg_id="dup-b"),
        inbound(DEMO, user="d2", msg_id="dup-b"),
    )

    assert isinstance(again, InboundResult) and again.duplicate and again.outbox_ids == first.outbox_ids
    assert isinstance(new, InboundResult) and isinstance(new_again, InboundResult)
    assert not new.duplicate and new_again.duplicate and new_again.outbox_ids == new.outbox_ids
    assert count(uow_factory, Ticket) == 2 and count(uow_factory, OutboxEntry) == 2
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == 2


class Prepares(FakeNlu):
    """An NLU that notes what it was told is about to be analyzed."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared: list[list[str]] = []

    def prepare(self, texts):  # type: ignore[no-untyped-def]
        self.prepared.append(list(texts))


def test_the_nlu_hears_beforehand_what_the_batch_will_analyze_redeliveries_left_out(uow_factory) -> None:
    handle_inbound(uow_factory(), nlu=FakeNlu(), msg=inbound("第一条", user="p1", msg_id="seen"), now=NOW)
    nlu = Prepares()
    handle_batch(uow_factory, nlu=nlu, now=NOW, submissions=[Submission(m) for m in (
        inbound("第一条", user="p1", msg_id="seen"), inbound("社保卡怎么补办", user="p2"), inbound(DEMO, user="p3"))])
    assert nlu.prepared == [["社保卡怎么补办", DEMO]]  # one hint a round, the redelivery not in it


def test_a_refused_message_does_not_hold_up_the_rest_of_its_batch(uow_factory) -> None:
    too_long, fine = batch(uow_factory, inbound("长" * 5000, user="e1"), inbound(DEMO, user="e2"))

    assert isinstance(too_long, InvalidMessageError) and "过长" in str(too_long)
    assert isinstance(fine, InboundResult) and fine.ticket_number is not None
    assert count(uow_factory, Ticket) == 1


def test_a_redelivery_racing_the_batch_is_replayed_not_doubled(uow_factory, monkeypatch) -> None:
    # Another process stores the message between this batch's look-up and its commit: the
    # unique platform id stops the commit, and each message is handled again on its own.
    first = handle_inbound(uow_factory(), nlu=FakeNlu(), msg=inbound(DEMO, user="f1", msg_id="race-1"), now=NOW)
    import handoff.intake

    look_up = handoff.intake._look_up
    # The batch's own look-up misses it; later ones find it.
    calls = iter([lambda session, msgs: dataclasses.replace(look_up(session, msgs), stored=[])])
    monkeypatch.setattr("handoff.intake._look_up", lambda session, msgs: next(calls, look_up)(session, msgs))
    raced, other = batch(uow_factory, inbound(DEMO, user="f1", msg_id="race-1"), inbound(DEMO, user="f2"))

    assert isinstance(raced, InboundResult) and raced.duplicate and raced.outbox_ids == first.outbox_ids
    assert isinstance(other, InboundResult) and other.ticket_number is not None
    assert count(uow_factory, Ticket) == 2 and count(uow_factory, OutboxEntry) == 2


def test_in_time_the_first_reply_is_settled_for_the_response_in_the_same_transaction(uow_factory) -> None:
    import time

    from handoff.models import OutboxStatus
    from handoff.passive import PASSIVE

    in_time, too_late = handle_batch(
        uow_factory, nlu=FakeNlu(), now=NOW, submissions=[
            Submission(inbound(DEMO, user="g1"), answer_by=time.monotonic() + 4),
            Submission(inbound(DEMO, user="g2"), answer_by=time.monotonic() - 1),  # WeChat gave up on this one
        ],
    )
    assert isinstance(in_time, InboundResult) and isinstance(too_late, InboundResult)
    assert in_time.passive_reply is not None and in_time.ticket_number in in_time.passive_reply.text
    assert too_late.passive_reply is None
    with uow_factory() as uow:
        entries = {e.chat_id: e for e in uow.session.scalars(select(OutboxEntry))}
    assert (entries["chat-g1"].status, entries["chat-g1"].platform_msg_id) == (OutboxStatus.SENT, PASSIVE)
    assert entries["chat-g2"].status == OutboxStatus.PENDING  # the worker sends it through the API


class BreaksOn(FakeNlu):
    """An NLU with a bug that one message triggers."""

    def analyze(self, text, context=None):  # type: ignore[no-untyped-def]
        if "炸" in text:
            raise RuntimeError("a bug in the NLU")
        return super().analyze(text, context)


def test_a_message_that_breaks_its_batch_fails_alone(uow_factory) -> None:
    msgs = [inbound(DEMO, user="h1"), inbound("炸" + DEMO, user="h2"), inbound(DEMO, user="h3")]
    first, broken, last = handle_batch(uow_factory, nlu=BreaksOn(), submissions=[Submission(m) for m in msgs], now=NOW)

    assert isinstance(broken, RuntimeError)  # its webhook answers 500 and the platform retries it
    assert isinstance(first, InboundResult) and first.ticket_number is not None
    assert isinstance(last, InboundResult) and last.ticket_number is not None
    assert count(uow_factory, Ticket) == 2


def test_a_citizen_whose_second_message_breaks_keeps_the_answer_to_the_first(uow_factory) -> None:
    # On PostgreSQL the second message goes in a round of its own, after the first is written.
    msgs = [inbound(DEMO, user="i1"), inbound("炸" + DEMO, user="i1"), inbound(DEMO, user="i2")]
    first, broken, other = handle_batch(uow_factory, nlu=BreaksOn(), submissions=[Submission(m) for m in msgs], now=NOW)

    assert isinstance(broken, RuntimeError)
    assert isinstance(first, InboundResult) and first.ticket_number is not None and not first.duplicate
    assert isinstance(other, InboundResult) and other.ticket_number is not None
    assert count(uow_factory, Ticket) == 2 and count(uow_factory, OutboxEntry) == 2


# -- PostgreSQL: a batch in three round trips, no transaction -------------------------------------


def test_on_postgresql_a_batch_is_a_look_up_its_numbers_and_one_write_none_in_a_transaction(pg_engine, pg_factory) -> None:
    engine = pg_engine
    statements: list[tuple[str, bool]] = []

    def after(connection, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        open_transaction = connection.connection.driver_connection.info.transaction_status != TransactionStatus.IDLE
        statements.append((statement.split()[0], open_transaction))

    event.listen(engine, "after_cursor_execute", after)
    results = batch(pg_factory, *(inbound(DEMO, user=f"j{n}") for n in range(4)))

    assert all(isinstance(r, InboundResult) and r.ticket_number for r in results)
    # The look-up, the ticket numbers, then every row of the four in one statement; each committed
    # on its own (no BEGIN and COMMIT round trips), none leaving a transaction open.
    assert statements == [("SELECT", False), ("INSERT", False), ("WITH", False)]
    assert count(pg_factory, Ticket) == 4 and count(pg_factory, Message) == 8


def test_on_postgresql_rows_that_need_the_flush_are_written_in_a_transaction_or_not_at_all(pg_factory) -> None:
    from handoff.intake import _autocommit_on_postgresql, _write
    from handoff.models import ChannelIdentity, Citizen

    def write(*identities: str) -> None:
        with pg_factory() as uow:
            assert _autocommit_on_postgresql(uow.session)
            for user in identities:
                citizen = Citizen(display_name=user)
                # A relationship set: only the unit of work turns it into the foreign key.
                uow.session.add(ChannelIdentity(channel="web", channel_user_id=user, chat_id=user, citizen=citizen))
            _write(uow.session, autocommit=True)
            uow.commit()

    write("k1")
    with pytest.raises(IntegrityError):
        write("k2", "k1")  # k1 exists: the flush fails part-way
    assert count(pg_factory, ChannelIdentity) == 1 and count(pg_factory, Citizen) == 1  # k2 rolled back with it


def test_on_postgresql_the_look_up_reads_each_key_through_its_index_in_the_cached_plan(pg_engine, pg_factory) -> None:
    """The server caches one generic plan for the look-up; it must not read whole tables, or each
    batch costs more as the hotline's tables grow (before autovacuum's statistics catch up)."""
    import json

    from handoff.intake import _LOOK_UP

    batch(pg_factory, *(inbound(DEMO, user=f"p{n}") for n in range(20)))
    compiled = _LOOK_UP.compile(dialect=pg_engine.dialect)
    sql = compiled.string % {k: "$1" if k == "wanted" else f"'{v}'" for k, v in compiled.params.items()}
    wanted = json.dumps([{"channel": "web", "platform_msg_id": "m1", "channel_user_id": "p1"}] * 3)
    with pg_engine.connect() as connection:
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE look_up(json) AS {sql}")
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE look_up('{wanted}')"))
        connection.exec_driver_sql("DEALLOCATE look_up")
    assert "Seq Scan" not in plan and "Hash" not in plan, plan
    for index in ("uq_message_platform_id", "uq_identity_channel_user", "pk_citizens"):
        assert index in plan, plan
