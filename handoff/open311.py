"""Open311 GeoReport v2: services are the categories, service requests are tickets.

Field names follow the specification (wiki.open311.org/GeoReport_v2) so existing clients and
FixMyStreet-style apps can file and follow tickets. Formats are the route's business; this module
speaks plain dicts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.errors import AuthenticationError, InvalidMessageError, NotFoundError
from handoff.intake import Analyzer
from handoff.models import ApiKey, Citizen, Ticket, TicketAssignment, TicketEvent, TicketStatus, Unit
from handoff.tickets import TicketDraft, open_ticket
from nlu.types import AnalysisContext

# Codes for the default taxonomy; a city's own categories get c01, c02, ... in their order.
DEFAULT_CODES = {
    "城乡建设": "urban", "环境保护": "environment", "交通运输": "transport", "劳动和社会保障": "labour",
    "卫生计生": "health", "教育文体": "education", "商贸旅游": "commerce",
}
CLOSED = frozenset({TicketStatus.RESOLVED, TicketStatus.SURVEYED, TicketStatus.ARCHIVED, TicketStatus.CANCELLED})
MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default for requests without dates


@dataclass(frozen=True)
class Service:
    code: str
    name: str


def services(categories: Sequence[str]) -> list[Service]:
    return [Service(DEFAULT_CODES.get(name, f"c{index:02d}"), name) for index, name in enumerate(categories, start=1)]


def service_json(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code, "service_name": service.name, "description": f"{service.name}类诉求",
        "metadata": False, "type": "realtime", "keywords": service.name, "group": "12345",
    }


# -- API keys -------------------------------------------------------------------------------------


def create_api_key(session: Session, *, name: str) -> str:
    key = secrets.token_urlsafe(24)
    session.add(ApiKey(name=name, key_hash=_digest(key)))
    return key


def check_api_key(session: Session, key: str | None) -> ApiKey:
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key or ""), ApiKey.active.is_(True)))
    if not key or found is None:
        raise AuthenticationError("api_key is missing or not valid")
    return found


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- filing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    service_code: str
    description: str = ""
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_url: str | None = None


def file_request(
    session: Session, *, request: NewRequest, categories: Sequence[str], nlu: Analyzer, client: ApiKey, now: datetime, tz: ZoneInfo
) -> Ticket:
    """A service request becomes a ticket, read by the same NLU as a chat message."""
    by_code = {s.code: s for s in services(categories)}
    service = by_code.get(request.service_code)
    if service is None:
        raise NotFoundError(f"service_code {request.service_code!r} is not a known service")
    if request.lat is None and request.long is None and not (request.address_string or "").strip():
        raise InvalidMessageError("a location is required: lat and long, or address_string")
    if (request.lat is None) != (request.long is None):
        raise InvalidMessageError("lat and long must be given together")
    if request.lat is not None and not (-90 <= request.lat <= 90 and -180 <= (request.long or 0) <= 180):
        raise InvalidMessageError("lat/long out of range")
    description = (request.description or "").strip()
    if len(description) > 2000:
        raise InvalidMessageError("description is longer than 2000 characters")
    if request.phone and not re.fullmatch(r"[\d+\-() ]{5,32}", request.phone):
        raise InvalidMessageError("phone is not a phone number")
    text = " ".join(p for p in (request.address_string, description) if p)
    analysis = nlu.analyze(text, AnalysisContext(channel="open311", latitude=request.lat, longitude=request.long))
    loc = analysis.location
    name = " ".join(p for p in (request.last_name, request.first_name) if p) or None
    citizen = Citizen(id=uuid.uuid4(), display_name=name, phone=request.phone, language="zh", created_at=now)
    session.add(citizen)
    draft = TicketDraft(
        request_type=str(analysis.request_type) if description else "投诉",
        description=description or f"{service.name}（{request.address_string or ''}）",
        category=service.name, category_confidence=1.0,
        district=loc.district.name if loc.district else None, district_code=loc.district.code if loc.district else None,
        street=loc.street.name if loc.street else None, street_code=loc.street.code if loc.street else None,
        community=loc.community.name if loc.community else None, community_code=loc.community.code if loc.community else None,
        address=(request.address_string or loc.address or None), latitude=request.lat, longitude=request.long,
        contact_phone=request.phone, urgent=analysis.urgency.urgent, urgency_cue=analysis.urgency.cue,
        attachments=[{"kind": "image", "file_id": request.media_url, "url": request.media_url}] if request.media_url else None,
    )
    ticket = open_ticket(session, citizen=citizen, conversation=None, draft=draft, now=now, tz=tz, channel="open311")
    session.add(TicketEvent(ticket_id=ticket.id, kind="open311", actor_type="system", actor_id=client.name,
                            note=f"由 Open311 客户端 {client.name} 提交", data={"email": bool(request.email)}, created_at=now))
    return ticket


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    ids: Sequence[str] = ()
    service_code: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None  # open or closed


def find_requests(session: Session, *, query: RequestQuery, categories: Sequence[str], now: datetime) -> list[Ticket]:
    statement = select(Ticket)
    if query.ids:
        statement = statement.where(Ticket.number.in_(list(query.ids)))
    else:
        start = query.start or ((query.end or now) - DEFAULT_WINDOW)
        statement = statement.where(Ticket.accepted_at >= start)
        if query.end:
            statement = statement.where(Ticket.accepted_at <= query.end)
    if query.service_code:
        by_code = {s.code: s.name for s in services(categories)}
        statement = statement.where(Ticket.category == by_code.get(query.service_code, "\x00"))
    if query.status == "open":
        statement = statement.where(Ticket.status.not_in(CLOSED))
    elif query.status == "closed":
        statement = statement.where(Ticket.status.in_(CLOSED))
    return list(session.scalars(statement.order_by(Ticket.accepted_at.desc()).limit(MAX_RESULTS)))


def request_json(session: Session, ticket: Ticket, categories: Sequence[str]) -> dict[str, Any]:
    code = {s.name: s.code for s in services(categories)}.get(ticket.category or "")
    lead = session.scalar(
        select(Unit.name).join(TicketAssignment, TicketAssignment.unit_id == Unit.id)
        .where(TicketAssignment.ticket_id == ticket.id).order_by(TicketAssignment.lead.desc(), TicketAssignment.dispatched_at.desc()).limit(1)
    )
    note = session.scalar(
        select(TicketEvent.note).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status")
        .order_by(TicketEvent.created_at.desc()).limit(1)
    )
    media = (ticket.attachments or {}).get("items") or []
    place = " ".join(p for p in (ticket.district, ticket.street, ticket.community, ticket.address) if p)
    return {
        "service_request_id": ticket.number,
        "status": "closed" if ticket.status in CLOSED else "open",
        "status_notes": note,
        "service_name": ticket.category,
        "service_code": code,
        "description": ticket.description,
        "agency_responsible": lead,
        "service_notice": None,
        "requested_datetime": ticket.accepted_at.isoformat(),
        "updated_datetime": ticket.updated_at.isoformat(),
        "expected_datetime": ticket.resolve_deadline.isoformat() if ticket.resolve_deadline else None,
        "address": place or None,
        "address_id": ticket.admin_code,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": media[0].get("url") if media else None,
    }
