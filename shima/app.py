"""The ASGI app factory: webhook, admin, simulator, health check, and the in-process worker."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from tortoise import Tortoise

from admin.errors import exception_handlers
from admin.routes import routes as admin_routes
from line_app.client import LineClient
from line_app.webhook import WebhookFirst, callback
from shima import areas as registry
from shima import db
from shima.health import healthz
from shima.middleware import AllowedHostsMiddleware, SecurityHeadersMiddleware
from shima.settings import FAKE_LINE_PATH, STATIC_DIR, Settings, load_settings
from shima.worker import Worker

if TYPE_CHECKING:
    from line_app.fake_line import FakeLinePlatform

log = logging.getLogger("shima")


def create_app(settings: Settings | None = None, *, init_db: bool = True) -> Starlette:
    """Build the app. `init_db=False` when the caller (a test) has set Tortoise up already."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if init_db:
            await db.init(settings.database_url)
        line = LineClient(settings)
        app.state.line = line
        worker = Worker(settings, line) if settings.run_worker else None
        app.state.worker = worker
        if worker:
            await worker.start()
        try:
            yield
        finally:
            if worker:
                await worker.stop()
            await line.close()
            if init_db:
                await Tortoise.close_connections()

    admin_areas = registry.admin_areas()
    routes: list[Route | Mount] = [
        Route("/callback", callback, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Mount("/admin", routes=admin_routes(admin_areas), name="admin"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    fake_line: FakeLinePlatform | None = None
    if settings.simulator:
        # Test infrastructure, loaded only without a real channel: production never imports it.
        from line_app import simulator
        from line_app.fake_line import FakeLinePlatform

        fake_line = FakeLinePlatform(access_token=settings.channel_access_token)
        routes.append(Mount(FAKE_LINE_PATH, app=fake_line, name="fake_line"))
        routes.append(Mount("/simulator", routes=simulator.routes(), name="simulator"))

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=exception_handlers)
    # Inside the security headers (its refusals carry them too) and inside WebhookFirst (a
    # webhook is authenticated by its signature, whatever its Host).
    app.add_middleware(AllowedHostsMiddleware, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    app.add_middleware(WebhookFirst)  # added last: runs first (see line_app.webhook)
    app.state.settings = settings
    app.state.admin_areas = admin_areas  # nav, audit labels, dashboard parts (admin.registry)
    # Each part of a resident's data, for the admin's export and erasure (個人データ).
    app.state.personal_data = registry.personal_data()
    app.state.fake_line = fake_line
    app.state.worker = None
    return app
