"""Photo intake (`make bench`): 50 artists each send 3 photos of 3 MB at once, through the real
webhook, to the ハンドメイドマーケット photo step — as bench/webhook.py starts the processes.

Each run gets a fresh migrated database holding one published market open for applications
(photos 1–3), then starts the fake LINE platform (bench/_fake_platform.py, serving the photos
as the content of their messages) and `shima serve` exactly as bench/webhook.py does (real
channel credentials, `LINE_API_BASE_URL` at the fake). Before the clock starts, a warm-up of
one text per connection is answered, and every artist walks the real LINE flow (signed
webhooks, line_app/flows/market.py) to the photo step:

    申し込む       flow=market&step=pick&m=<market>   (a draft; asks 出店者名・屋号)
    「工房 n」      typed                               (asks ジャンル)
    「アクセサリー」 typed at the category buttons       (taps it; asks 販売するもの)
    「…」           typed                               (asks 作品の写真: the photo step)

The photos are real JPEGs of about 3 MB (3000×2000, noisy, with camera EXIF and GPS), made
with Pillow once per run; the artists' messages share `--distinct` of them. Every artist sends
theirs as one LINE imageSet: one signed webhook per image, all 150 at once over
`--connections` connections, each artist's three in a shuffled order. Meanwhile other
residents keep sending small text messages (「メニュー」, `--ping-gap` apart, each from a
different resident) whose acknowledgement and answer are timed.

Measured:
- the time from the first image until every photo is stored (MarketPhoto rows attached to
  the artist's application, polled in the database) and acknowledged (the fake platform
  received the reply 「n枚目を受け取りました…」 for every image);
- the server's peak memory growth: VmHWM (reset through /proc/<pid>/clear_refs just before
  the images) and VmRSS sampled every 10 ms, against VmRSS at the start (target < 200 MB);
- the webhook's acknowledgement latency p50/p99 of the images and of the texts sent during the
  intake (target p99 < 250 ms), and how long those residents waited for their answer (and
  whether it came as a free reply or as a push, which costs a message of the quota);
- and a check of one stored photo: a JPEG of at most 2048 px, with no EXIF left.

    .venv/bin/python bench/photo_intake.py [--artists 50 --photos 3 --photo-mb 3]
    .venv/bin/python bench/photo_intake.py --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

from _loadgen import (
    FloodResult,
    HttpError,
    flood,
    http_get,
    image_event_body,
    postback_event_body,
    read_response,
    signed_requests,
    text_event_body,
    user_id,
)
from webhook import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    DESTINATION,
    HOST,
    ROOT,
    SECRET_KEY,
    Databases,
    child_env,
    cpu_seconds,
    fake_platform_command,
    fake_stats,
    free_port,
    migrate,
    ms,
    percentile,
    run_main,
    secs,
    start_servers,
    started,
    tail,
    wait_ready,
)

MEMORY_TARGET_MB = 200.0  # issue #10: peak memory growth of the server
ACK_P99_TARGET = 0.250  # seconds
PHOTO_SIZE = (3000, 2000)
ACK_TEXT = re.compile(r"([0-9０-９]+)枚目を受け取りました")


# ---- the photos ---------------------------------------------------------------------------


def make_photo(seed: int, target_bytes: int) -> bytes:
    """A 3000×2000 JPEG of at least `target_bytes` (a little more): coloured noise over a
    gradient (so it does not compress to nothing), with the EXIF a phone writes (maker,
    model, orientation, time and GPS, as photos taken at home carry)."""
    from PIL import Image

    rng = random.Random(seed)
    w, h = PHOTO_SIZE
    noise = Image.frombytes("RGB", (w // 2, h // 2), rng.randbytes(w // 2 * h // 2 * 3))
    noise = noise.resize((w, h), Image.Resampling.BILINEAR)
    base = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    tint = Image.new("RGB", (w, h), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    picture = Image.blend(Image.blend(noise, base, 0.5), tint, 0.2)
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 13"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x0132] = "2026:11:20 14:03:11"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (28.0, 22.0, float(rng.randrange(60)))  # 奄美市名瀬あたり
    gps[3], gps[4] = "E", (129.0, 29.0, float(rng.randrange(60)))
    data = b""
    for quality in range(70, 98):  # the lowest quality that reaches the target size
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, exif=exif)
        data = out.getvalue()
        if len(data) >= target_bytes:
            break
    return data


def make_photos(folder: Path, count: int, target_bytes: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"photo{n + 1}.jpg"
        path.write_bytes(make_photo(n, target_bytes))
        paths.append(path)
    return paths


# ---- the database: the market and the artists before, the photos after ----------------------


async def create_market(database_url: str, photos: int) -> int:
    """One published market open for applications, photos 1–`photos`."""
    from tortoise import Tortoise

    from shima.db import init as init_db
    from shima.domain import market as rules
    from shima.timeutil import jst_datetime, now, today_jst

    await init_db(database_url)
    try:
        day = today_jst() + timedelta(days=42)
        market = await rules.create_market(
            rules.MarketSpec(
                name="あまみハンドメイドマーケット",
                starts_at=jst_datetime(day, clock_time(10)),
                ends_at=jst_datetime(day, clock_time(16)),
                venue="AiAi ひろば",
                applications_open_at=now() - timedelta(days=1),
                applications_close_at=now() + timedelta(days=20),
                booths=30,
                booth_fee=1500,
                photos_min=1,
                photos_max=photos,
            )
        )
        await rules.publish(market.id)
        return int(market.id)
    finally:
        await Tortoise.close_connections()


SETUP_STEPS = 4  # the artist's events up to the photo step (see the module's docstring)


def setup_bodies(market_id: int, artist: str, n: int, tokens: list[str]) -> list[bytes]:
    """申し込む, 出店者名, ジャンル, 販売するもの: the artist's way to the photo step."""
    return [
        postback_event_body(artist, tokens[0], f"flow=market&step=pick&m={market_id}", DESTINATION),
        text_event_body(artist, tokens[1], f"工房 {n + 1}", DESTINATION),
        text_event_body(artist, tokens[2], "アクセサリー", DESTINATION),
        text_event_body(
            artist, tokens[3], "夜光貝のピアスと島の布で作った小物。1,500〜4,000円", DESTINATION
        ),
    ]


async def send_in_order(port: int, requests: list[bytes]) -> Counter[int]:
    """One artist's events, each sent once the previous one is acknowledged."""
    statuses: Counter[int] = Counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for request in requests:
            writer.write(request)
            status, keep, _ = await asyncio.wait_for(read_response(reader), 30)
            statuses[status] += 1
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()
    return statuses


async def at_photo_step(artists: list[str]) -> dict[str, int]:
    """The artists whose conversation waits for photos: line user id → application id."""
    from line_app.flows.market_photos import FLOW, PHOTO_STEP
    from models.conversation import ConversationState

    rows = await ConversationState.filter(
        line_user_id__in=artists, flow=FLOW, step=PHOTO_STEP
    ).values_list("line_user_id", "data")
    return {str(user): int(data["a"]) for user, data in rows}


@dataclass
class Stored:
    attached: int  # photos attached to the artists' applications
    per_application: Counter[int]
    failed: int  # MarketPhoto rows recording a failed fetch
    sample: bytes  # one stored photo's bytes
    thumb: bytes


async def count_attached(application_ids: list[int]) -> int:
    from models.market import MarketPhoto

    return await MarketPhoto.filter(application_id__in=application_ids, error="").count()


async def read_stored(application_ids: list[int]) -> Stored:
    from models.market import MarketPhoto

    rows = await MarketPhoto.filter(application_id__in=application_ids, error="").values_list(
        "application_id", flat=True
    )
    failed = await MarketPhoto.exclude(error="").count()
    sample = await MarketPhoto.filter(application_id__in=application_ids, error="").first()
    return Stored(
        attached=len(rows),
        per_application=Counter(int(a) for a in rows),  # type: ignore[call-overload]
        failed=failed,
        sample=bytes(sample.data or b"") if sample else b"",
        thumb=bytes(sample.thumb or b"") if sample else b"",
    )


def photo_check(data: bytes) -> tuple[bool, str]:
    """Whether a stored photo is a JPEG of at most 2048 px with no EXIF; and a description."""
    from PIL import Image

    if not data:
        return False, "no photo"
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        side = max(image.size)
        fine = image.format == "JPEG" and side <= 2048 and not exif and "exif" not in image.info
        return fine, (
            f"{image.format} {image.size[0]}×{image.size[1]}, {len(data) / 1e6:.2f} MB, "
            f"EXIF {'none' if not exif and 'exif' not in image.info else 'LEFT IN'}"
        )


# ---- memory -------------------------------------------------------------------------------


def status_kb(pid: int, key: str) -> int:
    """A VmRSS / VmHWM figure of /proc/<pid>/status, in kB (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux ≥ 4.0, our own child)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class MemorySampler:
    """VmRSS of a process every `interval` seconds, on a thread (the event loop is busy)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---- the texts sent meanwhile ---------------------------------------------------------------


@dataclass
class Pings:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    sent_at: dict[int, float] = field(default_factory=dict)  # index → time.time() sent
    answer_times: list[float] = field(default_factory=list)  # sent → replied, per text (s)


async def ping_while(
    port: int, requests: list[bytes], gap: float, connections: int, stop: asyncio.Event
) -> Pings:
    """Send one text every `gap` seconds (over a small pool of keep-alive connections) until
    `stop` is set or the requests run out; time each acknowledgement."""
    pings = Pings()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(HOST, port))
    perf = time.perf_counter

    async def one(n: int, request: bytes) -> None:
        reader, writer = await pool.get()
        pings.sent_at[n] = time.time()
        start = perf()
        try:
            writer.write(request)
            status, keep, _ = await asyncio.wait_for(read_response(reader), 30)
        except (OSError, asyncio.IncompleteReadError, HttpError, TimeoutError) as exc:
            pings.errors[type(exc).__name__] += 1
            status, keep = 0, False
        else:
            pings.statuses[status] += 1
            if status == 200:
                pings.latencies.append(perf() - start)
        if not keep:
            writer.close()
            reader, writer = await asyncio.open_connection(HOST, port)
        pool.put_nowait((reader, writer))

    tasks = []
    t0 = perf()
    for n, request in enumerate(requests):
        if stop.is_set():
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, t0 + n * gap - perf()))
        if stop.is_set():
            break
        tasks.append(asyncio.create_task(one(n, request)))
        pings.sent += 1
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return pings


# ---- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    round: int
    artists: int
    photos: int
    photo_bytes: int
    images: FloodResult
    pings: Pings
    stored: Stored
    photo_ok: bool
    photo_text: str
    stored_s: float | None = None  # first image → every photo attached (None: not all)
    acked_s: float | None = None  # first image → every image answered
    answered: int = 0
    replies: int = 0
    pushes: int = 0
    acknowledged: int = 0  # answers that say 「n枚目を受け取りました」
    counts_right: int = 0  # artists whose answers counted 1, 2, … photos
    failed_by: dict[str, int] = field(default_factory=dict)  # failed LINE calls by kind
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    peak_growth_mb: float = float("nan")
    peak_reset: bool = False
    server_cpu_s: float = float("nan")
    ping_answered: int = 0

    @property
    def total(self) -> int:
        return self.artists * self.photos

    @property
    def done_s(self) -> float | None:
        if self.stored_s is None or self.acked_s is None:
            return None
        return max(self.stored_s, self.acked_s)

    def ok(self) -> bool:
        return (
            self.done_s is not None
            and self.acknowledged == self.total
            and self.counts_right == self.artists
            and self.stored.attached == self.total
            and set(self.stored.per_application.values()) == {self.photos}
            and self.peak_growth_mb < MEMORY_TARGET_MB
            and self.images.acked == self.total
            and self.pings.statuses.get(200, 0) == self.pings.sent
            and percentile(self.pings.latencies + self.images.latencies, 99) < ACK_P99_TARGET
            and self.photo_ok
        )


async def run_once(
    round_no: int, args: argparse.Namespace, work: Path, dbs: Databases, photo_files: list[Path]
) -> Run:
    run_dir = work / f"round{round_no}"
    run_dir.mkdir()
    rng = random.Random(round_no)
    artists = [user_id(4_000_000 + i) for i in range(args.artists)]
    warm_users = [user_id(5_000_000 + i) for i in range(args.connections)]
    max_pings = int(args.timeout / args.ping_gap) + 1
    ping_users = [user_id(6_000_000 + i) for i in range(args.ping_users or max_pings)]
    # One reply token per event: the artists' way to the photo step, their images (in the
    # artists' order, photo by photo), the texts sent meanwhile.
    plan = {
        "warmup": warm_users,
        "setup": [a for a in artists for _ in range(SETUP_STEPS)],
        "photos": [a for a in artists for _ in range(args.photos)],
        "pings": [ping_users[n % len(ping_users)] for n in range(max_pings)],
    }
    (run_dir / "plan.json").write_text(json.dumps(plan))
    message_ids = {
        a: [str(10**15 + i * 100 + p) for p in range(args.photos)] for i, a in enumerate(artists)
    }
    contents = {
        mid: str(photo_files[(i * args.photos + p) % len(photo_files)])
        for i, a in enumerate(artists)
        for p, mid in enumerate(message_ids[a])
    }
    (run_dir / "contents.json").write_text(json.dumps(contents))

    database_url = await dbs.fresh(run_dir)
    await migrate(database_url, run_dir)
    market_id = await create_market(database_url, args.photos)

    fake_port = free_port()
    tokens_file = run_dir / "tokens.json"
    fake_cmd = fake_platform_command(fake_port, run_dir, tokens_file)
    fake_cmd += ["--contents", str(run_dir / "contents.json")]
    fake_log = run_dir / "fake.log"
    with started(fake_cmd, child_env(), ROOT, fake_log) as fake:
        await wait_ready(fake_port, "/_stats", fake, fake_log)
        tokens: dict[str, list[str]] = json.loads(tokens_file.read_text())
        env = child_env(
            LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
            SECRET_KEY=SECRET_KEY,
            SHIMA_ALLOWED_HOSTS="127.0.0.1,localhost",
            LINE_API_BASE_URL=f"http://{HOST}:{fake_port}",
            DATABASE_URL=database_url,
        )
        env.update(item.split("=", 1) for item in args.project_env)
        port = free_port()
        with contextlib.ExitStack() as stack:
            servers, server_log = await start_servers(
                stack, "project", [port], env, run_dir, scaled=False
            )
            server = servers[0]

            # Warm-up: one text per connection, answered before the clock starts.
            warm = [
                text_event_body(u, t, "メニュー", DESTINATION)
                for u, t in zip(warm_users, tokens["warmup"], strict=True)
            ]
            result = await flood(
                HOST, [(port, signed_requests(HOST, port, warm, CHANNEL_SECRET))], len(warm)
            )
            stats = await fake_stats(
                fake_port, f"/_wait?kind=warmup&count={len(warm)}&timeout=30", 40
            )
            if result.acked != len(warm) or stats["warmup"]["answered"] < len(warm):
                raise RuntimeError(f"warm-up not answered: {stats}\n{tail(server_log)}")

            # Every artist to the photo step through the flow, answered before the clock.
            setup = [
                signed_requests(
                    HOST,
                    port,
                    setup_bodies(
                        market_id,
                        artist,
                        n,
                        tokens["setup"][n * SETUP_STEPS : (n + 1) * SETUP_STEPS],
                    ),
                    CHANNEL_SECRET,
                )
                for n, artist in enumerate(artists)
            ]
            acks = sum(
                await asyncio.gather(*(send_in_order(port, r) for r in setup)), Counter[int]()
            )
            total = len(artists) * SETUP_STEPS
            stats = await fake_stats(fake_port, f"/_wait?kind=setup&count={total}&timeout=60", 70)
            if acks.get(200, 0) != total or stats["setup"]["answered"] < total:
                raise RuntimeError(
                    f"the artists' steps were not all answered ({dict(acks)}, "
                    f"{stats['setup']}):\n{tail(server_log)}"
                )

            # The images: each artist's set in a shuffled order, the artists interleaved.
            # Bodies carry `timestamp` = now, so they are built just before they go.
            token_of = iter(tokens["photos"])
            bodies = []
            for artist in artists:
                set_id = secrets.token_hex(16)
                events = [
                    image_event_body(
                        artist,
                        next(token_of),
                        mid,
                        DESTINATION,
                        (set_id, p + 1, args.photos) if args.photos > 1 else None,
                    )
                    for p, mid in enumerate(message_ids[artist])
                ]
                rng.shuffle(events)
                bodies.append(events)
            ordered = [events[p] for p in range(args.photos) for events in bodies]
            image_requests = signed_requests(HOST, port, ordered, CHANNEL_SECRET)
            ping_requests = signed_requests(
                HOST,
                port,
                [
                    text_event_body(u, t, "メニュー", DESTINATION)
                    for u, t in zip(plan["pings"], tokens["pings"], strict=True)
                ],
                CHANNEL_SECRET,
            )

            from tortoise import Tortoise

            from shima.db import init as init_db

            await init_db(database_url)  # to see the photos arrive
            try:
                applications = await at_photo_step(artists)
                if len(applications) != len(artists):
                    raise RuntimeError(
                        f"{len(applications)}/{len(artists)} artists at the photo step:\n"
                        + tail(server_log)
                    )
                application_ids = list(applications.values())
                await asyncio.sleep(1.0)  # let the warm-up's garbage settle
                rss_start = status_kb(server.pid, "VmRSS")
                peak_reset = reset_peak(server.pid)
                cpu0 = cpu_seconds(server.pid)
                stop = asyncio.Event()
                with MemorySampler(server.pid) as sampler:
                    wall0 = time.time()
                    pinger = asyncio.create_task(
                        ping_while(port, ping_requests, args.ping_gap, args.ping_connections, stop)
                    )
                    images = await flood(HOST, [(port, image_requests)], args.connections)
                    stored_s = None
                    deadline = time.monotonic() + args.timeout
                    while time.monotonic() < deadline:
                        if await count_attached(application_ids) >= len(ordered):
                            stored_s = time.time() - wall0
                            break
                        await asyncio.sleep(0.05)
                    left = max(1.0, args.timeout - (time.time() - wall0))
                    stats = await fake_stats(
                        fake_port,
                        f"/_wait?kind=photos&count={len(ordered)}&timeout={left:.1f}",
                        left + 10,
                    )
                    # A baseline run (a handful of photos) keeps the texts going a while.
                    await asyncio.sleep(max(0.0, wall0 + args.texts_for - time.time()))
                    stop.set()
                    pings = await pinger
                hwm = status_kb(server.pid, "VmHWM") if peak_reset else 0
                server_cpu = cpu_seconds(server.pid) - cpu0
                stats = await fake_stats(
                    fake_port, f"/_wait?kind=pings&count={pings.sent}&timeout=60", 70
                )
                texts: dict[str, list[str]] = json.loads(
                    await http_json(fake_port, "/_texts?kind=photos")
                )
                replied: dict[str, float] = json.loads(
                    await http_json(fake_port, "/_replied?kind=pings")
                )
                for n, sent_wall in pings.sent_at.items():
                    at = replied.get(tokens["pings"][n])
                    if at is not None:
                        pings.answer_times.append(at - sent_wall)
                await asyncio.sleep(1.0)
                rss_end = status_kb(server.pid, "VmRSS")
                stored = await read_stored(application_ids)
            finally:
                await Tortoise.close_connections()

    photo_ok, photo_text = photo_check(stored.sample)
    run = Run(
        round=round_no,
        artists=len(artists),
        photos=args.photos,
        photo_bytes=round(statistics.mean(p.stat().st_size for p in photo_files)),
        images=images,
        pings=pings,
        stored=stored,
        photo_ok=photo_ok,
        photo_text=photo_text,
        stored_s=stored_s,
        server_cpu_s=server_cpu,
        peak_reset=peak_reset,
    )
    measured = stats["photos"]
    run.answered = int(measured["answered"])
    run.replies = int(measured["replies"])
    run.pushes = int(measured["pushes"])
    run.failed_by = dict(stats["failed_by"])
    run.ping_answered = int(stats["pings"]["answered"])
    if run.answered >= len(ordered):
        run.acked_s = float(measured["last_at"]) - wall0
    for artist in artists:
        numbers = [int(m.group(1)) for t in texts.get(artist, []) if (m := ACK_TEXT.search(t))]
        run.acknowledged += len(numbers)
        run.counts_right += sorted(numbers) == list(range(1, args.photos + 1))
    run.rss_start_mb = rss_start / 1024
    run.rss_end_mb = rss_end / 1024
    run.peak_growth_mb = (max(hwm, sampler.peak_kb) - rss_start) / 1024
    return run


async def http_json(port: int, path: str) -> bytes:
    status, body = await http_get(HOST, port, path, timeout=30)
    if status != 200:
        raise RuntimeError(f"fake platform {path} answered {status}")
    return body


# ---- reporting ----------------------------------------------------------------------------


def describe(run: Run) -> str:
    i, p = run.images, run.pings
    problems = {str(k): v for k, v in i.statuses.items() if k != 200} | dict(i.errors)
    ping_problems = {str(k): v for k, v in p.statuses.items() if k != 200} | dict(p.errors)
    return "\n".join(
        [
            f"  round {run.round}: {run.total} images ({run.artists} artists × {run.photos}, "
            f"{run.photo_bytes / 1e6:.2f} MB each) sent in {i.elapsed:.2f} s, acks "
            f"{i.acked}/{run.total}, ack p50 {ms(percentile(i.latencies, 50))} "
            f"p99 {ms(percentile(i.latencies, 99))}"
            + (f"  NOT ACKED: {problems}" if problems else ""),
            f"    texts meanwhile: {p.sent} sent, acks {p.statuses.get(200, 0)}, ack p50 "
            f"{ms(percentile(p.latencies, 50))} p99 {ms(percentile(p.latencies, 99))}; "
            f"answered {run.ping_answered} ({len(p.answer_times)} by reply: answer after p50 "
            f"{secs(percentile(p.answer_times, 50))}, p99 {secs(percentile(p.answer_times, 99))}"
            f", max {secs(max(p.answer_times, default=float('nan')))})"
            + (f"  NOT ACKED: {ping_problems}" if ping_problems else ""),
            f"    stored {run.stored.attached}/{run.total} after {secs(run.stored_s)}"
            + (f" ({run.stored.failed} failed fetches recorded)" if run.stored.failed else "")
            + f"; answered {run.answered}/{run.total} (replies {run.replies}, pushes "
            f"{run.pushes}) after {secs(run.acked_s)}; 「n枚目を受け取りました」 "
            f"{run.acknowledged}, counted 1…{run.photos} for {run.counts_right}/{run.artists} "
            f"artists" + (f"; failed LINE calls: {run.failed_by}" if run.failed_by else ""),
            f"    server RSS {run.rss_start_mb:,.0f} MB before, peak +{run.peak_growth_mb:,.0f} MB"
            f"{'' if run.peak_reset else ' (sampled only: VmHWM could not be reset)'}, "
            f"{run.rss_end_mb:,.0f} MB after; server CPU {run.server_cpu_s:.1f} s",
            f"    a stored photo: {run.photo_text}",
        ]
    )


def report(runs: list[Run], args: argparse.Namespace, backend: str) -> bool:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    done = med([r.done_s if r.done_s is not None else math.inf for r in runs])
    growth = med([r.peak_growth_mb for r in runs])
    p99_images = med([percentile(r.images.latencies, 99) for r in runs])
    p99_texts = med([percentile(r.pings.latencies, 99) for r in runs])
    p50_texts = med([percentile(r.pings.latencies, 50) for r in runs])
    print()
    print(
        f"Photo intake — {args.artists} artists × {args.photos} photos of "
        f"{runs[0].photo_bytes / 1e6:.1f} MB at once, {args.connections} connections, a text "
        f"every {args.ping_gap * 1000:.0f} ms meanwhile, {backend}, {os.cpu_count()} CPUs, "
        f"{len(runs)} round{'s' if len(runs) > 1 else ''}" + (" (medians)" if len(runs) > 1 else "")
    )
    checks = [
        (
            "every photo stored and acknowledged",
            "not all" if done == math.inf else secs(done),
            all(r.done_s is not None for r in runs),
        ),
        (
            f"each answered 「n枚目を受け取りました」 (1…{args.photos} per artist)",
            ", ".join(f"{r.counts_right}/{r.artists}" for r in runs),
            all(r.counts_right == r.artists and r.acknowledged == r.total for r in runs),
        ),
        (
            f"{args.photos} photos attached to every application",
            ", ".join(f"{r.stored.attached}/{r.total}" for r in runs),
            all(
                r.stored.attached == r.total
                and set(r.stored.per_application.values()) == {r.photos}
                for r in runs
            ),
        ),
        (
            f"server peak memory growth < {MEMORY_TARGET_MB:.0f} MB",
            f"{growth:,.0f} MB",
            growth < MEMORY_TARGET_MB,
        ),
        (
            f"webhook ack p99 < {ACK_P99_TARGET * 1000:.0f} ms (texts meanwhile)",
            f"{ms(p99_texts)} (p50 {ms(p50_texts)})",
            p99_texts < ACK_P99_TARGET,
        ),
        (
            f"webhook ack p99 < {ACK_P99_TARGET * 1000:.0f} ms (the images)",
            ms(p99_images),
            p99_images < ACK_P99_TARGET,
        ),
        (
            "every request acknowledged with 200",
            ", ".join(
                f"{r.images.acked + r.pings.statuses.get(200, 0)}/{r.total + r.pings.sent}"
                for r in runs
            ),
            all(
                r.images.acked == r.total and r.pings.statuses.get(200, 0) == r.pings.sent
                for r in runs
            ),
        ),
        (
            "stored photos: JPEG ≤ 2048 px, no EXIF",
            ", ".join("yes" if r.photo_ok else "NO" for r in runs),
            all(r.photo_ok for r in runs),
        ),
    ]
    ok = True
    for name, figures, passed in checks:
        ok = ok and passed
        print(f"  {'PASS' if passed else 'MISS'}  {name:<52}{figures}")
    answers = med([percentile(r.pings.answer_times, 50) for r in runs])
    answers_p99 = med([percentile(r.pings.answer_times, 99) for r in runs])
    by_reply = ", ".join(f"{len(r.pings.answer_times)}/{r.pings.sent}" for r in runs)
    print(
        f"  ----  the texts meanwhile answered after p50 {secs(answers)}, p99 "
        f"{secs(answers_p99)} (by free reply: {by_reply}; the rest pushed or unanswered)"
    )
    return ok


# ---- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artists", type=int, default=50)
    parser.add_argument("--photos", type=int, default=3, help="photos per artist (one imageSet)")
    parser.add_argument("--photo-mb", type=float, default=3.0, help="size of each photo")
    parser.add_argument(
        "--distinct", type=int, default=6, help="how many different photos the artists share"
    )
    parser.add_argument(
        "--connections", type=int, default=50, help="connections the images are sent over"
    )
    parser.add_argument(
        "--ping-gap", type=float, default=0.05, help="seconds between the texts sent meanwhile"
    )
    parser.add_argument("--ping-connections", type=int, default=8)
    parser.add_argument(
        "--texts-for",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep sending the texts at least this long (a baseline: e.g. --artists 1 "
        "--photos 1 --texts-for 30 measures the texts without the intake)",
    )
    parser.add_argument(
        "--ping-users",
        type=int,
        default=0,
        help="residents sending the texts, in turn (default 0: each text from a different one)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default="",
        help="PostgreSQL server to run on, e.g. postgres://postgres@127.0.0.1:5432/postgres: "
        "each round gets a fresh database created beside this one and dropped afterwards "
        "(default: a fresh SQLite file)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all")
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs and SQLite files")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args(argv)
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a postgres:// URL (SQLite is the default)")
    if min(args.artists, args.photos, args.distinct, args.connections, args.rounds) < 1:
        parser.error("--artists, --photos, --distinct, --connections and --rounds: at least 1")
    if args.ping_connections < 1 or args.ping_users < 0 or args.ping_gap <= 0:
        parser.error("--ping-connections: at least 1; --ping-users ≥ 0; --ping-gap positive")
    if not 0.1 <= args.photo_mb <= 10:
        parser.error("--photo-mb: 0.1 to 10")
    for item in args.project_env:
        if "=" not in item:
            parser.error(f"--project-env wants NAME=VALUE, not {item!r}")
    return args


async def bench(args: argparse.Namespace, work: Path) -> int:
    dbs = Databases(args.database_url or None)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    started_at = time.monotonic()
    photo_files = make_photos(work / "photos", args.distinct, int(args.photo_mb * 1_000_000))
    sizes = ", ".join(f"{p.stat().st_size / 1e6:.2f}" for p in photo_files)
    print(f"  {len(photo_files)} photos made ({sizes} MB) in {time.monotonic() - started_at:.1f} s")
    runs: list[Run] = []
    try:
        for round_no in range(1, args.rounds + 1):
            run = await run_once(round_no, args, work, dbs, photo_files)
            runs.append(run)
            print(describe(run), flush=True)
    finally:
        await dbs.drop_all()
    ok = report(runs, args, backend)
    return 1 if args.strict and not ok else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(args, "shima-photos-", "Photo intake in {work} ({rounds} round(s))…", bench)


if __name__ == "__main__":
    sys.exit(main())
