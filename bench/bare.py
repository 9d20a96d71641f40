"""A bare FastAPI endpoint taking the same JSON, for comparison with Hotline's webhook."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/telegram/webhook")
async def webhook(update: dict[str, Any]) -> dict[str, bool]:
    return {"ok": True}
