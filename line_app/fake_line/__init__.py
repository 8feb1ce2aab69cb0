"""A fake LINE Messaging API platform for tests, benchmarks and the simulator (never production).

- `platform`: the in-memory platform, an ASGI app the real line-bot-sdk client talks to;
- `validation`: what LINE answers 400 for (messages, rich menus);
- `loopback`: serve an ASGI app on 127.0.0.1 so a client or a browser can reach it.
"""

from line_app.fake_line.loopback import serve_on_loopback
from line_app.fake_line.platform import Call, Delivery, FakeLinePlatform
from line_app.fake_line.validation import Errors, validate_messages, validate_rich_menu

__all__ = [
    "Call",
    "Delivery",
    "Errors",
    "FakeLinePlatform",
    "serve_on_loopback",
    "validate_messages",
    "validate_rich_menu",
]
