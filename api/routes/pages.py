"""The web pages. Static files only: every citizen text is put into the page with textContent."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["pages"])

_STATIC = resources.files("api") / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def citizen_chat() -> HTMLResponse:
    return HTMLResponse((_STATIC / "chat.html").read_text(encoding="utf-8"), headers=SECURITY_HEADERS)


@router.get("/console", response_class=HTMLResponse, include_in_schema=False)
async def operator_console() -> HTMLResponse:
    """The web console for operators, unit handlers and supervisors (login inside)."""
    return HTMLResponse((_STATIC / "console.html").read_text(encoding="utf-8"), headers=SECURITY_HEADERS)


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def supervisor_dashboard() -> HTMLResponse:
    """Rates, rankings, where and what, hot topics (data from /api/stats/*, login required)."""
    return HTMLResponse((_STATIC / "dashboard.html").read_text(encoding="utf-8"), headers=SECURITY_HEADERS)
