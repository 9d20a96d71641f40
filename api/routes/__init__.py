"""The HTTP routes, one module per area.

The platforms' webhooks (`telegram.ROUTES`, `wechat.ROUTES`) are plain Starlette routes, matched
before the rest: they take the raw body and verify it themselves, and at a burst's rate FastAPI's
request handling (dependency solving, response serialisation) was a third of their cost. They are
described in the README, not in the OpenAPI document, which is the console's and Open311's API.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from api.routes import telegram, wechat

WEBHOOKS: list[BaseRoute] = [*telegram.ROUTES, *wechat.ROUTES]
