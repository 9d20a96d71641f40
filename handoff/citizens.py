"""One person on two platforms: citizens who gave the same phone number, linked when an operator
confirms it. Linking moves the merged record's identities, conversations and tickets to the kept
one, so either platform's status query shows every ticket; the link itself is recorded.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff.errors import HotlineError, NotFoundError
from handoff.models import ChannelIdentity, Citizen, CitizenLink, Conversation, Ticket
from handoff.store import UnitOfWork


class LinkRefusedError(HotlineError):
    """The two records cannot be linked: the same one, already linked, or no phone in common."""

    code = "link_refused"
    http_status = 409


@dataclass(frozen=True)
class CitizenSummary:
    id: uuid.UUID
    display_name: str | None
    channels: tuple[str, ...]
    tickets: int
    created_at: datetime


@dataclass(frozen=True)
class LinkCandidate:
    """Citizen records that share a phone number, the oldest first (the natural one to keep)."""

    phone_masked: str
    citizens: tuple[CitizenSummary, ...]


def normalise_phone(phone: str) -> str:
    """Digits only, without China's +86: 139 1234 5678, +86-13912345678 and 13912345678 are one."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def find_link_candidates(session: Session) -> list[LinkCandidate]:
    """Groups of unlinked citizens with the same phone (their own, or the contact on a ticket)
    who write from more than one platform."""
    phones: dict[str, set[uuid.UUID]] = defaultdict(set)
    owned = session.execute(select(Citizen.id, Citizen.phone)).all()
    given = session.execute(select(Ticket.citizen_id, Ticket.contact_phone)).all()
    for citizen_id, phone in [*owned, *given]:
        if phone:
            phones[normalise_phone(phone)].add(citizen_id)
    merged = set(session.scalars(select(CitizenLink.merged_citizen_id)))
    candidates = []
    for phone, ids in sorted(phones.items()):
        ids -= merged
        if len(phone) < 7 or len(ids) < 2:
            continue
        summaries = sorted((_summary(session, i) for i in ids), key=lambda s: s.created_at)
        if len({channel for s in summaries for channel in s.channels}) < 2:
            continue  # same platform twice is not what linking is for
        candidates.append(LinkCandidate(mask_phone(phone), tuple(summaries)))
    return candidates


def link_citizens(
    uow: UnitOfWork, *, keep: uuid.UUID, merge: uuid.UUID, operator: str, now: datetime | None = None
) -> CitizenLink:
    """Make `merge` part of `keep`: one transaction, recorded as a `CitizenLink`."""
    moment = now or datetime.now(UTC)
    with uow:
        session = uow.session
        if keep == merge:
            raise LinkRefusedError("不能把一个市民记录与自身关联。")
        kept, merged = session.get(Citizen, keep), session.get(Citizen, merge)
        if kept is None or merged is None:
            raise NotFoundError("市民记录不存在。")
        linked = set(session.scalars(select(CitizenLink.merged_citizen_id)))
        if keep in linked or merge in linked:
            raise LinkRefusedError("其中一个记录已并入其他记录。")
        if not _phones(session, keep) & _phones(session, merge):
            raise LinkRefusedError("两个记录没有相同的电话号码，不能关联。")
        moved = {
            "identities": _move(session, ChannelIdentity, merge, keep),
            "conversations": _move(session, Conversation, merge, keep),
            "tickets": _move(session, Ticket, merge, keep),
        }
        kept.phone = kept.phone or merged.phone
        kept.display_name = kept.display_name or merged.display_name
        link = CitizenLink(
            id=uuid.uuid4(), kept_citizen_id=keep, merged_citizen_id=merge, operator=operator[:64],
            reason="same_phone", moved=moved, created_at=moment,
        )
        session.add(link)
        uow.commit()
        return link


def _move(
    session: Session, model: type[ChannelIdentity | Conversation | Ticket], source: uuid.UUID, target: uuid.UUID
) -> int:
    result = session.execute(update(model).where(model.citizen_id == source).values(citizen_id=target))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _phones(session: Session, citizen_id: uuid.UUID) -> set[str]:
    own = session.scalar(select(Citizen.phone).where(Citizen.id == citizen_id))
    contacts = session.scalars(select(Ticket.contact_phone).where(Ticket.citizen_id == citizen_id))
    return {normalise_phone(p) for p in [own, *contacts] if p}


def _summary(session: Session, citizen_id: uuid.UUID) -> CitizenSummary:
    citizen = session.get_one(Citizen, citizen_id)
    channels = tuple(sorted(session.scalars(select(ChannelIdentity.channel).where(ChannelIdentity.citizen_id == citizen_id))))
    tickets = len(list(session.scalars(select(Ticket.id).where(Ticket.citizen_id == citizen_id))))
    return CitizenSummary(citizen.id, citizen.display_name, channels, tickets, citizen.created_at)
