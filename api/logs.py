"""Logging: plain lines for a developer, one JSON object a line in production, each with the
request id it was written under. No personal data: phone numbers, resident ID numbers and e-mail
addresses are masked wherever they appear in a message, and so are tokens and secrets."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

from api.config import Settings

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
EMAIL = re.compile(r"(?<![\w.+-])([\w.+-])[\w.+-]*(@[\w-]+(?:\.[\w-]+)+)")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


# Telegram puts the bot token in the URL path, WeChat the access token and app secret in the query;
# httpx logs request URLs at INFO.
SECRET = re.compile(r"(/bot\d+:)[\w-]+|((?:access_token|secret)=)[^&\s\"']+")


def mask_phones(text: str) -> str:
    """Phone numbers, and the other personal numbers and addresses people type into a chat."""
    text = RESIDENT_ID.sub(r"\1********\2", text)
    text = PHONE.sub(r"\1****\2", text)
    return EMAIL.sub(r"\1***\2", text)


def mask_secrets(text: str) -> str:
    return SECRET.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_secrets(mask_phones(record.getMessage()))
        record.args = ()
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            body["request_id"] = rid
        if record.exc_info:
            body["exception"] = mask_secrets(mask_phones(self.formatException(record.exc_info)))
        return json.dumps(body, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_MaskingFilter())
    if settings.log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
