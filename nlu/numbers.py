"""Ticket numbers and phone numbers written in a message."""

from __future__ import annotations

import re

# YYYYMMDD + 5-digit sequence, e.g. 2026112300123; not part of a longer digit run.
_TICKET = re.compile(r"(?<!\d)(20\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{5})(?!\d)")
# Mainland mobile numbers, optionally +86, with spaces or dashes between groups.
_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})(?!\d)")
# Landlines: 0 + 2-3 digit area code, then 7-8 digits (010-12345678, (010)12345678, 0755 1234567).
_LANDLINE = re.compile(r"(?<!\d)(?:\(?(0\d{2,3})\)?[- ]?)(\d{7,8})(?!\d)")


def ticket_numbers(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_TICKET.findall(text)))


def phone_numbers(text: str) -> tuple[str, ...]:
    """Digits only, in the order written, without duplicates; ticket numbers are not phones."""
    tickets = set(ticket_numbers(text))
    found: list[str] = []
    for match in _MOBILE.finditer(text):
        found.append(re.sub(r"\D", "", match.group(1)))
    for match in _LANDLINE.finditer(text):
        number = match.group(1) + match.group(2)
        if number not in tickets:
            found.append(number)
    return tuple(number for number in dict.fromkeys(found) if number not in tickets)
