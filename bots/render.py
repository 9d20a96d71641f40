"""Buttons for channels that have none: numbered lines the citizen can answer with a number."""

from __future__ import annotations

from handoff.messages import Reply


def as_text(reply: Reply) -> str:
    if not reply.buttons:
        return reply.text
    options = "\n".join(f"{i}. {button.label}" for i, button in enumerate(reply.buttons, start=1))
    return f"{reply.text}\n\n{options}"
