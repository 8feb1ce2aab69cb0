"""`/simulator`: a LINE-like chat page for trying the account without a LINE channel.

Loaded by the app only in simulator mode (see shima/app.py); never needed in production.
- `api`: the page and its JSON API;
- `events`: the webhook events a page action becomes;
- `transcript`: what the page remembers per demo user;
- `in_process`: posts the signed webhook to the app's own `/callback`, without a network.
"""

from line_app.simulator.api import routes
from line_app.simulator.events import BOT_USER_ID, DEMO_USERS, build_event
from line_app.simulator.transcript import SimUser

__all__ = ["BOT_USER_ID", "DEMO_USERS", "SimUser", "build_event", "routes"]
