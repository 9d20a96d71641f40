"""Linking one citizen across platforms (same phone number), confirmed by an operator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import OperatorDep, RuntimeDep
from handoff.access import CENTER_ROLES, require_role
from handoff.citizens import find_link_candidates, link_citizens

router = APIRouter(prefix="/api/citizen-links", tags=["citizens"])


class LinkIn(BaseModel):
    keep: uuid.UUID
    merge: uuid.UUID


@router.get("")
def candidates(runtime: RuntimeDep, operator: OperatorDep) -> list[dict[str, Any]]:
    """Citizen records on different platforms sharing a phone number (shown masked)."""
    require_role(operator, CENTER_ROLES)
    with runtime.new_uow() as uow:
        return [
            {"phone": c.phone_masked, "citizens": [
                {"id": s.id, "display_name": s.display_name, "channels": list(s.channels), "tickets": s.tickets,
                 "created_at": s.created_at} for s in c.citizens]}
            for c in find_link_candidates(uow.session)
        ]


@router.post("")
def link(body: LinkIn, runtime: RuntimeDep, operator: OperatorDep) -> dict[str, Any]:
    """The operator confirms: `merge`'s identities, chats and tickets become `keep`'s."""
    require_role(operator, CENTER_ROLES)
    made = link_citizens(runtime.new_uow(), keep=body.keep, merge=body.merge, operator=operator.username, now=datetime.now(UTC))
    return {"kept": made.kept_citizen_id, "merged": made.merged_citizen_id, "moved": made.moved}
