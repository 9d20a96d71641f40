"""Time for people: storage is UTC, what citizens and operators read is local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


def local_text(moment: datetime | None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
