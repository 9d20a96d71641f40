"""Console login and logout. The session lives in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from api.deps import SESSION_COOKIE, OperatorDep, RuntimeDep, same_origin, session_policy
from api.schemas import LoginIn, OperatorOut, SessionOut
from handoff.accounts import log_in, log_out
from handoff.errors import PermissionDeniedError

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/login")
def login(body: LoginIn, request: Request, response: Response, runtime: RuntimeDep) -> SessionOut:
    if not same_origin(request.headers.get("origin"), request.headers.get("host")):
        raise PermissionDeniedError("跨站登录请求被拒绝")
    with runtime.new_uow() as uow:
        result = log_in(
            uow.session, username=body.username, password=body.password, now=datetime.now(UTC),
            policy=session_policy(runtime),
        )
        uow.commit()
    response.set_cookie(
        SESSION_COOKIE, result.token, httponly=True, samesite="strict", secure=runtime.settings.cookie_secure,
        max_age=int(runtime.settings.session_absolute.total_seconds()), path="/",
    )
    return SessionOut(operator=OperatorOut.of(result.operator), csrf_token=result.csrf_token)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response, runtime: RuntimeDep, _operator: OperatorDep) -> None:
    with runtime.new_uow() as uow:
        log_out(uow.session, token=request.cookies.get(SESSION_COOKIE, ""))
        uow.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me")
def me(request: Request, operator: OperatorDep) -> SessionOut:
    return SessionOut(operator=OperatorOut.of(operator), csrf_token=request.state.csrf_token)
