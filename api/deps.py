"""Route dependencies: the runtime, and the logged-in console user with CSRF protection."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from api.runtime import Runtime
from handoff.accounts import SessionPolicy, authenticate
from handoff.errors import PermissionDeniedError
from handoff.models import Operator

SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def current_operator(request: Request, runtime: RuntimeDep) -> Operator:
    """The operator behind the session cookie. State-changing requests must also carry the session's
    CSRF token in a header, which a page on another site cannot read or send."""
    with runtime.new_uow() as uow:
        operator, login = authenticate(
            uow.session,
            token=request.cookies.get(SESSION_COOKIE),
            now=datetime.now(UTC),
            policy=session_policy(runtime),
        )
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not secrets.compare_digest(sent.encode(), login.csrf_token.encode()):
                raise PermissionDeniedError("缺少或错误的 CSRF 令牌，请刷新页面")
        uow.commit()
        request.state.csrf_token = login.csrf_token
        return operator


def session_policy(runtime: Runtime) -> SessionPolicy:
    return SessionPolicy(idle=runtime.settings.session_idle, absolute=runtime.settings.session_absolute)


OperatorDep = Annotated[Operator, Depends(current_operator)]


def same_origin(request_origin: str | None, host: str | None) -> bool:
    """A browser's Origin must be this server: no other site may open a console socket or log in."""
    if request_origin is None:
        return True  # not a browser, or a same-origin GET
    if not host:
        return False
    return request_origin.split("://", 1)[-1] == host
