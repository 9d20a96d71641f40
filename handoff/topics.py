"""举一反三 and 每月一问: tickets that are about the same problem.

Text similarity is the cosine of character-bigram counts of the descriptions (place names and
numbers left out, so "the same problem in another compound" still matches). Cheap, pure, and
good enough to group short complaints; the NLU's category and the place do the rest.
- `similar_tickets`: for one ticket, the same problem at the same or a nearby place.
- `repeat_of`: at intake, the citizen's own open ticket about the same thing.
- `hot_topics`: a period's tickets grouped into topics, ranked by size and growth.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Ticket
from handoff.tickets import OPEN_STATUSES

Vector = Counter[str]
_NOISE = re.compile(r"[\d\W_a-zA-Z]+")
_PLACE_WORDS = re.compile(r"[\u4e00-\u9fff]{1,6}?(区|街道|地区|乡|镇|社区|小区|村|路|街|大街|胡同|里|号楼|单元|园)")
_STOP = frozenset({"我们", "你们", "他们", "这个", "那个", "一个", "没有", "已经", "希望", "请问", "问题", "反映", "能否", "为什么", "怎么"})


def vector(text: str) -> Vector:
    """Character bigrams of what the complaint is about."""
    plain = unicodedata.normalize("NFKC", text)
    plain = _PLACE_WORDS.sub(" ", plain)
    plain = _NOISE.sub(" ", plain)
    grams: Vector = Counter()
    for chunk in plain.split():
        grams.update(chunk[i : i + 2] for i in range(len(chunk) - 1) if chunk[i : i + 2] not in _STOP)
    return grams


def cosine(a: Vector, b: Vector) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b[gram] for gram, count in a.items() if gram in b)
    return dot / (math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values())))


@dataclass(frozen=True)
class SimilarTicket:
    ticket: Ticket
    similarity: float
    same_street: bool


def similar_tickets(
    session: Session, ticket: Ticket, *, within: timedelta = timedelta(days=60), threshold: float = 0.3, limit: int = 20
) -> list[SimilarTicket]:
    """The same problem at the same street first, then elsewhere in the same district."""
    if not ticket.district_code:
        return []
    candidates = session.scalars(
        select(Ticket).where(
            Ticket.id != ticket.id,
            Ticket.district_code == ticket.district_code,
            Ticket.accepted_at >= ticket.accepted_at - within,
            Ticket.accepted_at <= ticket.accepted_at + within,
        )
    ).all()
    mine = vector(ticket.description)
    found = []
    for other in candidates:
        score = cosine(mine, vector(other.description))
        if other.category == ticket.category and other.category is not None:
            score += 0.1  # the NLU (or an operator) already said it is the same kind of matter
        if score >= threshold:
            found.append(SimilarTicket(other, round(min(score, 1.0), 3), other.street_code == ticket.street_code))
    found.sort(key=lambda s: (not s.same_street, -s.similarity))
    return found[:limit]


def repeat_of(
    session: Session, *, citizen_id: uuid.UUID, text: str, street_code: str | None, category: str | None, threshold: float = 0.5
) -> Ticket | None:
    """The citizen's own open ticket that this new message repeats, if any."""
    mine = vector(text)
    best: tuple[float, Ticket] | None = None
    for ticket in session.scalars(
        select(Ticket).where(Ticket.citizen_id == citizen_id, Ticket.status.in_(OPEN_STATUSES))
    ):
        if street_code and ticket.street_code and street_code != ticket.street_code:
            continue  # the same words about another place are another matter
        score = cosine(mine, vector(ticket.description)) + (0.15 if category and category == ticket.category else 0.0)
        if score >= threshold and (best is None or score > best[0]):
            best = (score, ticket)
    return best[1] if best else None


@dataclass
class Topic:
    category: str | None
    tickets: list[Ticket] = field(default_factory=list)
    centroid: Vector = field(default_factory=Counter)
    previous: int = 0  # tickets on the same topic in the period before

    @property
    def size(self) -> int:
        return len(self.tickets)

    @property
    def growth(self) -> float | None:
        return (self.size - self.previous) / self.previous if self.previous else None

    def keywords(self, count: int = 4) -> list[str]:
        return [gram for gram, _ in self.centroid.most_common(count)]

    def typical(self, count: int = 3) -> list[Ticket]:
        return sorted(self.tickets, key=lambda t: -cosine(vector(t.description), self.centroid))[:count]

    def places(self, count: int = 5) -> list[tuple[str, int]]:
        names = Counter(f"{t.district or ''}{t.street or ''}" for t in self.tickets if t.street or t.district)
        return names.most_common(count)


def hot_topics(
    session: Session, *, start: datetime, end: datetime, threshold: float = 0.35, min_size: int = 3, limit: int = 12
) -> list[Topic]:
    """每月一问: the period's tickets in topics, largest (then fastest growing) first."""
    current = _cluster(_tickets(session, start, end), threshold)
    length = end - start
    before = _cluster(_tickets(session, start - length, start), threshold)
    for topic in current:
        matches = [b for b in before if b.category == topic.category and cosine(b.centroid, topic.centroid) >= threshold]
        topic.previous = sum(b.size for b in matches)
    ranked = [t for t in current if t.size >= min_size]
    ranked.sort(key=lambda t: (-t.size, -(t.growth or 0.0)))
    return ranked[:limit]


def _tickets(session: Session, start: datetime, end: datetime) -> Sequence[Ticket]:
    return session.scalars(
        select(Ticket).where(Ticket.accepted_at >= start, Ticket.accepted_at < end).order_by(Ticket.accepted_at)
    ).all()


def _cluster(tickets: Iterable[Ticket], threshold: float) -> list[Topic]:
    """Leader clustering within each category: join the closest topic, or start one."""
    topics: list[Topic] = []
    for ticket in tickets:
        grams = vector(ticket.description)
        best, best_score = None, threshold
        for topic in topics:
            if topic.category != ticket.category:
                continue
            score = cosine(grams, topic.centroid)
            if score >= best_score:
                best, best_score = topic, score
        if best is None:
            best = Topic(category=ticket.category)
            topics.append(best)
        best.tickets.append(ticket)
        best.centroid.update(grams)
    return topics
