"""Console accounts: operators, unit handlers, supervisors, admins; passwords and login sessions.

Passwords are hashed with Argon2id. A login gives a random session token (only its SHA-256 is
stored) and a CSRF token; sessions end after an idle period and at an absolute limit.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff.errors import AuthenticationError, ConflictError, InvalidMessageError, NotFoundError
from handoff.models import Operator, OperatorSession, Role, Unit

_hasher = PasswordHasher()
# Verifying against this keeps the time of a wrong username equal to that of a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=8)
    absolute: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Login:
    token: str  # goes into the cookie; never stored
    csrf_token: str
    operator: Operator
    expires_at: datetime


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def create_operator(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    unit_code: str | None = None,
    lanes: str = "citizen",
    now: datetime,
) -> Operator:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidMessageError(f"密码至少{MIN_PASSWORD_LENGTH}位")
    if session.scalar(select(Operator).where(Operator.username == username)) is not None:
        raise ConflictError(f"用户名 {username} 已存在")
    unit_id = None
    if role == Role.UNIT_HANDLER:
        if not unit_code:
            raise InvalidMessageError("承办单位账号需要指定单位编码")
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise NotFoundError(f"单位 {unit_code} 不存在")
        unit_id = unit.id
    operator = Operator(
        id=uuid.uuid4(),
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        unit_id=unit_id,
        lanes=_lanes(lanes),
        created_at=now,
    )
    session.add(operator)
    return operator


LANES = ("citizen", "enterprise")


def _lanes(value: str) -> str:
    chosen = [lane.strip() for lane in value.split(",") if lane.strip()]
    if not chosen or any(lane not in LANES for lane in chosen):
        raise InvalidMessageError(f"lanes must be among {', '.join(LANES)}")
    return ",".join(dict.fromkeys(chosen))


def log_in(session: Session, *, username: str, password: str, now: datetime, policy: SessionPolicy) -> Login:
    operator = session.scalar(select(Operator).where(Operator.username == username, Operator.active.is_(True)))
    try:
        _hasher.verify(operator.password_hash if operator else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        operator = None
    if operator is None:
        raise AuthenticationError("用户名或密码错误")
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = hash_password(password)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires_at = now + policy.absolute
    session.add(
        OperatorSession(
            token_hash=_digest(token),
            csrf_token=csrf,
            operator_id=operator.id,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
        )
    )
    session.execute(delete(OperatorSession).where(OperatorSession.expires_at < now))
    return Login(token=token, csrf_token=csrf, operator=operator, expires_at=expires_at)


def authenticate(
    session: Session, *, token: str | None, now: datetime, policy: SessionPolicy
) -> tuple[Operator, OperatorSession]:
    """The operator behind a session token, or AuthenticationError. Touches the idle clock."""
    if not token:
        raise AuthenticationError("请先登录")
    login = session.scalar(select(OperatorSession).where(OperatorSession.token_hash == _digest(token)))
    if login is None or login.expires_at <= now or login.last_seen_at + policy.idle <= now:
        raise AuthenticationError("登录已过期，请重新登录")
    operator = session.get(Operator, login.operator_id)
    if operator is None or not operator.active:
        raise AuthenticationError("账号已停用")
    if now - login.last_seen_at > timedelta(minutes=1):  # spare the database a write per request
        login.last_seen_at = now
    return operator, login


def log_out(session: Session, *, token: str) -> None:
    session.execute(delete(OperatorSession).where(OperatorSession.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
