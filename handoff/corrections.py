"""The operator checks the NLU's guesses on a ticket. What they confirm or correct is kept as
labelled data (`nlu_feedback`) and exported for retraining."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.errors import InvalidMessageError, NotFoundError, UnknownCategoryError
from handoff.models import NluFeedback, Operator, Ticket, TicketEvent, Unit, UnitKind
from nlu.types import RequestType

REQUEST_TYPES = frozenset(str(t) for t in RequestType)
LABEL_FIELDS = ("request_type", "category", "district_code", "street_code", "urgent")


@dataclass(frozen=True)
class TicketReview:
    """The operator's version of the ticket; None leaves a field as it is."""

    request_type: str | None = None
    category: str | None = None
    street_code: str | None = None  # implies its district
    district_code: str | None = None
    community: str | None = None
    address: str | None = None
    description: str | None = None
    contact_phone: str | None = None
    urgent: bool | None = None


def labels_of(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in LABEL_FIELDS}


def review_ticket(
    session: Session,
    *,
    ticket: Ticket,
    review: TicketReview,
    operator: Operator,
    categories: Collection[str],
    now: datetime,
) -> list[str]:
    """Apply the operator's review; return the names of the fields that changed."""
    predicted = labels_of(ticket)
    before = {**predicted, "address": ticket.address, "community": ticket.community, "description": ticket.description}
    if review.request_type is not None:
        if review.request_type not in REQUEST_TYPES:
            raise InvalidMessageError(f"未知的诉求类型：{review.request_type}")
        ticket.request_type = review.request_type
    if review.category is not None:
        if review.category not in categories:
            raise UnknownCategoryError(f"未知的类别：{review.category}")
        ticket.category, ticket.category_confidence = review.category, 1.0
    if review.street_code is not None:
        _place(session, ticket, street_code=review.street_code)
    elif review.district_code is not None and review.district_code != ticket.district_code:
        _place(session, ticket, district_code=review.district_code)
    for name in ("community", "address", "description", "contact_phone"):
        value = getattr(review, name)
        if value is not None:
            setattr(ticket, name, value.strip() or None if name != "description" else value.strip())
    if review.urgent is not None:
        ticket.urgent = review.urgent
        if not review.urgent:
            ticket.urgency_cue = None
    if not ticket.description:
        raise InvalidMessageError("诉求内容不能为空")
    after = {**labels_of(ticket), "address": ticket.address, "community": ticket.community, "description": ticket.description}
    changed = [name for name in after if after[name] != before[name]]
    first_review = ticket.confirmed_at is None
    ticket.confirmed_at, ticket.updated_at = now, now
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind="corrected" if changed else "confirmed",
            actor_type="operator",
            actor_id=str(operator.id),
            note="、".join(changed) if changed else "确认智能识别结果",
            data={"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}},
            created_at=now,
        )
    )
    if first_review:  # the NLU's guess against the operator's word: one labelled example
        session.add(
            NluFeedback(
                ticket_id=ticket.id,
                operator_id=operator.id,
                text=ticket.description,
                predicted=predicted,
                confirmed=labels_of(ticket),
                corrected_fields={"fields": [f for f in LABEL_FIELDS if predicted[f] != labels_of(ticket)[f]]},
                created_at=now,
            )
        )
    return changed


def export_feedback(session: Session) -> Iterator[dict[str, Any]]:
    for row in session.scalars(select(NluFeedback).order_by(NluFeedback.created_at)):
        yield {
            "text": row.text,
            "predicted": row.predicted,
            "label": row.confirmed,
            "corrected": row.corrected_fields.get("fields", []),
            "ticket_id": str(row.ticket_id),
            "created_at": row.created_at.isoformat(),
        }


def _place(session: Session, ticket: Ticket, *, street_code: str | None = None, district_code: str | None = None) -> None:
    if street_code is not None:
        street = session.scalar(select(Unit).where(Unit.code == street_code, Unit.kind.in_((UnitKind.STREET, UnitKind.ZONE))))
        if street is None:
            raise NotFoundError(f"街道/乡镇 {street_code} 不存在")
        district = session.scalar(select(Unit).where(Unit.code == street.district_code))
        ticket.street, ticket.street_code = street.name, street.code
        if ticket.community_code and not ticket.community_code.startswith(street.code):
            ticket.community, ticket.community_code = None, None
    else:
        district = session.scalar(select(Unit).where(Unit.code == district_code, Unit.kind == UnitKind.DISTRICT))
        if district is None:
            raise NotFoundError(f"区 {district_code} 不存在")
        ticket.street, ticket.street_code, ticket.community, ticket.community_code = None, None, None, None
    if district is not None:
        ticket.district, ticket.district_code = district.name, district.code
    ticket.admin_code = ticket.community_code or ticket.street_code or ticket.district_code
