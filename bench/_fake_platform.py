"""The fake LINE platform for the benchmark, in its own process.

Serves `line_app.fake_line.FakeLinePlatform` with uvicorn and adds two read-only endpoints
the benchmark uses to count answers without polling the fake's public API:

- `GET /_stats`: how many benchmark events were answered (a successful reply with the
  event's token, or a push to one of the benchmark's users), and when the last one arrived;
- `GET /_wait?count=N&timeout=T`: the same, once N events are answered (or after T seconds);
- `GET /_texts?kind=K`: the text of every message answered to the users of kind K, per user
  and in order (a flex message by its altText), so a benchmark can check what was said;
- `GET /_replied?kind=K`: when each reply token of kind K was used ({token: time.time()}).

Reply tokens cannot be issued over HTTP, so at start-up it reads a plan (the user id of every
event, in order) from `--plan`, issues one token per event and writes them to `--tokens-out`.

With `--contents contents.json` ({message id: file}) it also serves those files as the
content of those messages (the Messaging API's GET /v2/bot/message/{id}/content), each file
read once however many messages share it.

    python bench/_fake_platform.py --port P --plan plan.json --tokens-out tokens.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from line_app.fake_line import FakeLinePlatform

ACCESS_TOKEN = "bench-access-token"


class AnswerCounter:
    """Counts answers by scanning the fake's call log incrementally."""

    def __init__(self, fake: FakeLinePlatform, plan: dict[str, list[str]]) -> None:
        self.fake = fake
        self.tokens: dict[str, list[str]] = {
            kind: [fake.issue_reply_token(u) for u in users] for kind, users in plan.items()
        }
        self._kind_of_token = {t: k for k, ts in self.tokens.items() for t in ts}
        self._kind_of_user = {u: k for k, us in plan.items() for u in us}
        self._user_of_token = {
            t: u for k, us in plan.items() for t, u in zip(self.tokens[k], us, strict=True)
        }
        self.answered: dict[str, set[str]] = {k: set() for k in plan}
        self.replied_at: dict[str, dict[str, float]] = {k: {} for k in plan}
        self.texts: dict[str, dict[str, list[str]]] = {k: {} for k in plan}
        self.pushes: dict[str, int] = dict.fromkeys(plan, 0)
        self.last_at: dict[str, float] = dict.fromkeys(plan, 0.0)
        self.first_at: dict[str, float] = dict.fromkeys(plan, 0.0)
        self.failed_calls = 0
        self.failed_by: Counter[str] = Counter()  # e.g. "profile 404", "content 404"
        self._next = 0

    def _scan(self) -> None:
        calls = self.fake.calls
        while self._next < len(calls):
            call = calls[self._next]
            if call.status == 0:
                break  # still being answered: look again next time
            self._next += 1
            if call.status >= 300:
                self.failed_calls += 1
                what = call.path.rsplit("/", 1)[-1] if "/message/" in call.path else call.path
                what = "profile" if call.path.startswith("/v2/bot/profile/") else what
                self.failed_by[f"{what} {call.status}"] += 1
                continue
            data = call.json if isinstance(call.json, dict) else {}
            if call.path.endswith("/message/reply"):
                token = str(data.get("replyToken"))
                kind = self._kind_of_token.get(token)
                if kind is not None:
                    self.answered[kind].add(token)
                    self.replied_at[kind][token] = call.at
                    self._note(kind, call.at)
                    self._keep_texts(kind, self._user_of_token[token], data)
            elif call.path.endswith("/message/push"):
                kind = self._kind_of_user.get(str(data.get("to")))
                if kind is not None:
                    self.pushes[kind] += 1
                    self._note(kind, call.at)
                    self._keep_texts(kind, str(data["to"]), data)

    def _keep_texts(self, kind: str, user: str, data: dict[str, Any]) -> None:
        said = self.texts[kind].setdefault(user, [])
        for message in data.get("messages") or []:
            if isinstance(message, dict):
                said.append(str(message.get("text") or message.get("altText") or ""))

    def _note(self, kind: str, at: float) -> None:
        self.last_at[kind] = max(self.last_at[kind], at)
        self.first_at[kind] = min(self.first_at[kind] or at, at)

    def count(self, kind: str) -> int:
        return len(self.answered[kind]) + self.pushes[kind]

    def stats(self) -> dict[str, Any]:
        self._scan()
        return {
            kind: {
                "answered": self.count(kind),
                "replies": len(self.answered[kind]),
                "pushes": self.pushes[kind],
                "first_at": self.first_at[kind],
                "last_at": self.last_at[kind],
            }
            for kind in self.answered
        } | {
            "failed_calls": self.failed_calls,
            "failed_by": dict(self.failed_by),
            "calls": len(self.fake.calls),
        }


def build_app(counter: AnswerCounter) -> Starlette:
    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(counter.stats())

    async def wait(request: Request) -> JSONResponse:
        kind = request.query_params.get("kind", "measured")
        count = int(request.query_params.get("count", "0"))
        deadline = time.monotonic() + min(float(request.query_params.get("timeout", "30")), 300)
        while True:
            result = counter.stats()
            if result[kind]["answered"] >= count or time.monotonic() >= deadline:
                return JSONResponse(result)
            await asyncio.sleep(0.02)

    async def texts(request: Request) -> JSONResponse:
        counter.stats()  # scan what arrived since
        return JSONResponse(counter.texts.get(request.query_params.get("kind", "measured"), {}))

    async def replied(request: Request) -> JSONResponse:
        counter.stats()
        kind = request.query_params.get("kind", "measured")
        return JSONResponse(counter.replied_at.get(kind, {}))

    return Starlette(
        routes=[
            Route("/_stats", stats, methods=["GET"]),
            Route("/_wait", wait, methods=["GET"]),
            Route("/_texts", texts, methods=["GET"]),
            Route("/_replied", replied, methods=["GET"]),
            Route("/healthz", stats, methods=["GET"]),
            Mount("/", app=counter.fake),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--tokens-out", type=Path, required=True)
    parser.add_argument("--contents", type=Path, help="JSON {message id: file} to serve")
    args = parser.parse_args()

    fake = FakeLinePlatform(access_token=ACCESS_TOKEN, reply_token_ttl=300.0)
    fake.base_url = f"http://127.0.0.1:{args.port}"
    if args.contents:
        files: dict[str, bytes] = {}
        for message_id, file in json.loads(args.contents.read_text()).items():
            if file not in files:
                files[file] = Path(file).read_bytes()
            fake.add_content(message_id, files[file], "image/jpeg")
    counter = AnswerCounter(fake, json.loads(args.plan.read_text()))
    partial = args.tokens_out.with_suffix(".partial")
    partial.write_text(json.dumps(counter.tokens))
    os.replace(partial, args.tokens_out)  # the benchmark never reads a half-written file
    uvicorn.run(
        build_app(counter),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
