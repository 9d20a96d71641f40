"""Which units should handle a ticket: the street/town where it happened (属地) and the
department of its category, as the routing rules say."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import RoutingRule, Ticket, Unit


def suggest_units(session: Session, ticket: Ticket) -> list[Unit]:
    """The street/town first, then the departments of the category, best rule first."""
    suggestions: list[Unit] = []
    codes = [c for c in (ticket.street_code, ticket.community_code and ticket.community_code[:9]) if c]
    if codes:
        rules = session.scalars(
            select(RoutingRule)
            .where(RoutingRule.match_kind == "admin_code", RoutingRule.match_value.in_(codes))
            .order_by(RoutingRule.priority)
        )
        suggestions.extend(rule.unit for rule in rules)
    if ticket.category:
        rules = session.scalars(
            select(RoutingRule)
            .where(RoutingRule.match_kind == "category", RoutingRule.match_value == ticket.category)
            .order_by(RoutingRule.priority)
        )
        suggestions.extend(rule.unit for rule in rules)
    unique: dict[str, Unit] = {}
    for unit in suggestions:
        if unit.active:
            unique.setdefault(unit.code, unit)
    return list(unique.values())
