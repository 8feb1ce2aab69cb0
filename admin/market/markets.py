"""ハンドメイドマーケット's markets in the admin: the list (status, window, counts), creating
and editing one (rules.MarketSpec, checked by rules.market_problems), the market's page, and
its status actions 公開 (draft → published) and 締切 (published → closed).

The rules live in shima.domain.market; this module translates forms into calls to them, each
change audited in the same transaction. The market pages show counts only (no artist's data):
the applications themselves are admin.market.review."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import (
    Flash,
    flash,
    form_text,
    parse_date,
    parse_int,
    parse_time,
    short_text,
    too_long,
    typed_text,
)
from admin.listing import page_of
from admin.pages import render
from models.market import (
    DEFAULT_CATEGORIES,
    ApplicationStatus,
    Market,
    MarketApplication,
    MarketStatus,
)
from shima.domain import market as rules
from shima.timeutil import JST, jst_datetime, now, span_ja

MARKETS_PATH = "/admin/market"
ACTIVE = "market"  # the nav entry (admin/market/area.py)
EXTRA_CATEGORY_FIELDS = 3  # empty ジャンル fields under the list, to add new ones
TEXT_LIMITS = {
    "name": ("マーケット名", rules.NAME_MAX),
    "venue": ("会場", rules.VENUE_MAX),
    "notes": ("出店者へのお知らせ", rules.NOTES_MAX),
}
FIELD_NAMES = {
    "name": "マーケット名",
    "starts_at": "開催日時",
    "ends_at": "終了時刻",
    "venue": "会場",
    "applications_open_at": "受付開始",
    "applications_close_at": "申込締切",
    "booths": "ブース数",
    "booth_fee": "出店料",
    "fee_due_on": "支払期限",
    "categories": "ジャンル",
    "photos_min": "写真（最少）",
    "photos_max": "写真（最多）",
    "allow_two_booths": "2ブースの申込み",
    "notes": "出店者へのお知らせ",
}

OUTCOMES: dict[str, Flash] = {
    "created": (
        "success",
        "マーケットを下書きで作成しました。内容を確かめて「公開する」と、受付期間に LINE で"
        "出店申込みを受け付けます。",
    ),
    "updated": ("success", "マーケットを保存しました。"),
    "published": (
        "success",
        "マーケットを公開しました。受付期間のあいだ、LINE の「ハンドメイドマーケット」から"
        "申し込めます。",
    ),
    "closed": (
        "success",
        "申込みを締め切りました。審査で採択・補欠・不採択を決めたら、結果を通知してください。",
    ),
    "stale": ("warning", "マーケットの状態が変わっていたため、操作できませんでした。"),
}


# ---------- What a market looks like in lists ----------


def market_state(market: Market, at: datetime | None = None) -> tuple[str, str]:
    """Where the market is, as staff read it: (css key, label)."""
    at = at or now()
    if market.ends_at <= at and market.status != MarketStatus.DRAFT:
        return "ended", "開催終了"
    if market.status == MarketStatus.DRAFT:
        return "draft", "下書き"
    if market.status == MarketStatus.PUBLISHED:
        if at < market.applications_open_at:
            return "before", "受付前"
        if at < market.applications_close_at:
            return "open", "受付中"
        return "window-over", "受付期間終了"
    if market.status == MarketStatus.CLOSED:
        return "closed", "締切・審査中"
    return "results", "結果通知済み"


@dataclass(frozen=True)
class MarketCounts:
    """A market's applications by status (drafts being entered in LINE apart)."""

    by_status: Mapping[str, int]

    def of(self, *statuses: ApplicationStatus) -> int:
        return sum(self.by_status.get(s.value, 0) for s in statuses)

    @property
    def drafts(self) -> int:
        return self.of(ApplicationStatus.DRAFT)

    @property
    def applied(self) -> int:
        """Applications sent to the jury (whatever happened to them since)."""
        return sum(self.by_status.values()) - self.drafts

    @property
    def undecided(self) -> int:
        return self.of(ApplicationStatus.SUBMITTED)

    @property
    def accepted(self) -> int:
        return self.of(ApplicationStatus.ACCEPTED)

    @property
    def reserve(self) -> int:
        return self.of(ApplicationStatus.RESERVE, ApplicationStatus.OFFERED)

    @property
    def rejected(self) -> int:
        return self.of(ApplicationStatus.REJECTED)

    @property
    def returned(self) -> int:
        return self.of(ApplicationStatus.RETURNED)


async def market_counts(market_ids: Sequence[int]) -> dict[int, MarketCounts]:
    """Applications per market and status (one grouped query)."""
    if not market_ids:
        return {}
    rows = (
        await MarketApplication.filter(market_id__in=list(market_ids))
        .annotate(n=Count("id"))
        .group_by("market_id", "status")
        .values("market_id", "status", "n")
    )
    found: dict[int, Counter[str]] = {i: Counter() for i in market_ids}
    for row in rows:
        found.setdefault(int(row["market_id"]), Counter())[str(row["status"])] += int(row["n"])
    return {market_id: MarketCounts(counts) for market_id, counts in found.items()}


def booth_rate(market: Market) -> int:
    return round(100 * market.booths_taken / market.booths) if market.booths > 0 else 0


def hours_text(market: Market) -> str:
    return span_ja(market.starts_at, market.ends_at)


def window_text(market: Market) -> str:
    return rules.window_text(market)


def market_detail(market: Market) -> dict[str, Any]:
    """What the audit log keeps of a market's values."""
    return {
        "name": market.name,
        "when": hours_text(market),
        "booths": market.booths,
        "market_status": MarketStatus(market.status).value,
    }


def to_market(market_id: int, outcome: str = "") -> Response:
    query = f"?{urlencode({'done': outcome})}" if outcome else ""
    return RedirectResponse(f"{MARKETS_PATH}/{market_id}{query}", status_code=303)


async def market_or_404(request: Request) -> Market | Response:
    market = await Market.get_or_none(id=request.path_params["market_id"])
    if market is None:
        return error_page(request, 404, title="マーケットが見つかりません")
    return market


# ---------- The form ----------


def _local(value: datetime) -> datetime:
    return value.astimezone(JST)


def _datetime_local(text: str) -> tuple[datetime | None, bool]:
    """A typed `YYYY-MM-DDTHH:MM` (JST) and whether it could be read ("" is unread)."""
    day = parse_date(text[:10])
    at = parse_time(text[11:16]) if len(text) >= 16 and text[10] in "T " else None
    if day is None or at is None:
        return None, False
    return jst_datetime(day, at), True


def typed_categories(form: FormData) -> list[str]:
    """The ジャンル fields as typed, blanks left out (a cleared field removes its ジャンル)."""
    return [v.strip() for v in form.getlist("category") if isinstance(v, str) and v.strip()]


def parse_market_form(
    form: FormData, market: Market | None = None
) -> tuple[rules.MarketSpec | None, list[str]]:
    """The market the form describes, or what cannot be read; the rules (dates in order,
    booths not below those taken, the lists' sizes) are rules.market_problems'."""
    errors = too_long(form, TEXT_LIMITS)
    day = parse_date(short_text(form, "date", 10))
    start = parse_time(short_text(form, "start", 5))
    end = parse_time(short_text(form, "end", 5))
    opens, opens_ok = _datetime_local(short_text(form, "opens_at", 19))
    closes, closes_ok = _datetime_local(short_text(form, "closes_at", 19))
    booths = parse_int(short_text(form, "booths", 12))
    fee_text = short_text(form, "booth_fee", 14).replace(",", "").replace("，", "")
    fee = parse_int(fee_text, None if fee_text else 0)
    due_text = short_text(form, "fee_due_on", 10)
    due = parse_date(due_text) if due_text else None
    photos_min = parse_int(short_text(form, "photos_min", 4))
    photos_max = parse_int(short_text(form, "photos_max", 4))
    if day is None:
        errors.append("開催日を入力してください。")
    if start is None or end is None:
        errors.append("開催時間（開始と終了の時刻）を入力してください。")
    if not opens_ok:
        errors.append("受付開始の日時を入力してください。")
    if not closes_ok:
        errors.append("申込締切の日時を入力してください。")
    if booths is None:
        errors.append("ブース数を数字で入力してください。")
    if fee is None:
        errors.append("出店料（1ブースあたり）を円の数字で入力してください（無料なら0）。")
    if due_text and due is None:
        errors.append("出店料の支払期限を日付で入力してください（なければ空欄）。")
    if photos_min is None or photos_max is None:
        errors.append("作品写真の枚数（最少・最多）を数字で入力してください。")
    if errors or day is None or start is None or end is None:
        return None, errors
    if opens is None or closes is None or booths is None or fee is None:
        return None, errors  # named above
    if photos_min is None or photos_max is None:
        return None, errors
    spec = rules.MarketSpec(
        name=form_text(form, "name", rules.NAME_MAX),
        starts_at=jst_datetime(day, start),
        ends_at=jst_datetime(day, end),
        venue=form_text(form, "venue", rules.VENUE_MAX),
        applications_open_at=opens,
        applications_close_at=closes,
        booths=booths,
        booth_fee=fee,
        fee_due_on=due,
        categories=tuple(typed_categories(form)),
        photos_min=photos_min,
        photos_max=photos_max,
        allow_two_booths=short_text(form, "allow_two_booths", 1) == "1",
        notes=form_text(form, "notes", rules.NOTES_MAX),
    )
    return spec, rules.market_problems(spec, market)


def spec_values(spec: rules.MarketSpec) -> dict[str, Any]:
    starts, ends = _local(spec.starts_at), _local(spec.ends_at)
    return {
        "name": spec.name,
        "date": starts.date().isoformat(),
        "start": f"{starts:%H:%M}",
        "end": f"{ends:%H:%M}",
        "venue": spec.venue,
        "opens_at": f"{_local(spec.applications_open_at):%Y-%m-%dT%H:%M}",
        "closes_at": f"{_local(spec.applications_close_at):%Y-%m-%dT%H:%M}",
        "booths": str(spec.booths),
        "booth_fee": str(spec.booth_fee),
        "fee_due_on": spec.fee_due_on.isoformat() if spec.fee_due_on else "",
        "categories": list(spec.categories),
        "photos_min": str(spec.photos_min),
        "photos_max": str(spec.photos_max),
        "allow_two_booths": "1" if spec.allow_two_booths else "",
        "notes": spec.notes,
    }


def new_values() -> dict[str, Any]:
    return {
        "name": "",
        "date": "",
        "start": "10:00",
        "end": "16:00",
        "venue": "",
        "opens_at": "",
        "closes_at": "",
        "booths": "20",
        "booth_fee": "0",
        "fee_due_on": "",
        "categories": list(DEFAULT_CATEGORIES),
        "photos_min": "1",
        "photos_max": "3",
        "allow_two_booths": "",
        "notes": "",
    }


def typed_values(form: FormData) -> dict[str, Any]:
    names = (
        "name",
        "date",
        "start",
        "end",
        "venue",
        "opens_at",
        "closes_at",
        "booths",
        "booth_fee",
        "fee_due_on",
        "photos_min",
        "photos_max",
        "notes",
    )
    values: dict[str, Any] = {name: typed_text(form, name) for name in names}
    values["categories"] = typed_categories(form)
    values["allow_two_booths"] = "1" if typed_text(form, "allow_two_booths") == "1" else ""
    return values


def changed_fields(before: rules.MarketSpec, after: rules.MarketSpec) -> list[str]:
    return [
        label
        for name, label in FIELD_NAMES.items()
        if getattr(before, name) != getattr(after, name)
    ]


async def form_page(
    request: Request, market: Market | None, values: Mapping[str, Any], errors: list[str]
) -> Response:
    categories = list(values.get("categories") or [])
    used: list[str] = []
    if market is not None:
        used = sorted(
            {
                str(c)
                for c in await MarketApplication.filter(market_id=market.id)
                .exclude(category="")
                .distinct()
                .values_list("category", flat=True)
            }
        )
    return render(
        request,
        "admin/market/market_form.html",
        {
            "market": market,
            "values": values,
            "errors": errors,
            "category_fields": [*categories, *[""] * EXTRA_CATEGORY_FIELDS][
                : max(len(categories) + EXTRA_CATEGORY_FIELDS, 1)
            ],
            "used_categories": used,
            "limits": {name: limit for name, (_, limit) in TEXT_LIMITS.items()},
            "category_max": rules.CATEGORY_MAX,
            "max_categories": rules.MAX_CATEGORIES,
            "booths_max": rules.MAX_BOOTHS,
            "fee_max": rules.FEE_MAX,
            "photos_limit": rules.MAX_PHOTOS,
            "tab": "detail",
            "state": market_state,
        },
        status_code=400 if errors else 200,
        active=ACTIVE,
    )


# ---------- Pages ----------


@staff_required
async def market_list(request: Request) -> Response:
    """Markets, those still to come first (soonest first), then past ones (latest first)."""
    at = now()
    show_past = request.query_params.get("past") == "1"
    markets = Market.all() if show_past else Market.filter(ends_at__gt=at)
    order = ("-starts_at", "-id") if show_past else ("starts_at", "id")
    page, rows = await page_of(request, markets, *order)
    counts = await market_counts([m.id for m in rows])
    return render(
        request,
        "admin/market/markets.html",
        {
            "markets": rows,
            "counts": counts,
            "page": page,
            "show_past": show_past,
            "past_count": await Market.filter(ends_at__lte=at).count(),
            "state": market_state,
            "booth_rate": booth_rate,
            "window_text": window_text,
            "outcome": flash(request, OUTCOMES),
        },
        active=ACTIVE,
    )


@staff_required
async def market_new(request: Request) -> Response:
    if request.method == "GET":
        return await form_page(request, None, new_values(), [])
    form = await request.form()
    spec, errors = parse_market_form(form)
    if spec is None or errors:
        return await form_page(request, None, typed_values(form), errors)
    try:
        async with in_transaction():
            market = await rules.create_market(spec)
            await audit.record(
                request, "market.market.create", "market", market.id, market_detail(market)
            )
    except rules.BadMarket as exc:
        return await form_page(request, None, typed_values(form), exc.problems)
    return to_market(market.id, "created")


@staff_required
async def market_edit(request: Request) -> Response:
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    if request.method == "GET":
        return await form_page(request, market, spec_values(rules.MarketSpec.of(market)), [])
    form = await request.form()
    spec, errors = parse_market_form(form, market)
    if spec is None or errors:
        return await form_page(request, market, typed_values(form), errors)
    before = rules.MarketSpec.of(market)
    try:
        async with in_transaction():
            fresh = await rules.update_market(market.id, spec)
            await audit.record(
                request,
                "market.market.update",
                "market",
                market.id,
                {
                    **market_detail(fresh),
                    "fields": "・".join(changed_fields(before, rules.MarketSpec.of(fresh)))
                    or "なし",
                },
            )
    except rules.BadMarket as exc:
        return await form_page(request, market, typed_values(form), exc.problems)
    except rules.MarketError as exc:
        return await form_page(request, market, typed_values(form), [exc.message])
    return to_market(market.id, "updated")


async def market_page(
    request: Request,
    market: Market,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    counts = (await market_counts([market.id]))[market.id]
    return render(
        request,
        "admin/market/market.html",
        {
            "market": market,
            "counts": counts,
            "hours": hours_text(market),
            "window": window_text(market),
            "state": market_state,
            "booth_rate": booth_rate,
            "categories": rules.categories_of(market),
            "tab": "detail",
            "is_open": rules.is_open(market),
            "window_over": market.applications_close_at <= now(),
            "errors": errors or [],
            "outcome": flash(request, OUTCOMES),
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def market_detail_page(request: Request) -> Response:
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    return await market_page(request, market)


async def _move(
    request: Request,
    *,
    source: MarketStatus,
    change: Callable[[int], Awaitable[Market]],
    action: str,
    done: str,
    refused: str,
) -> Response:
    """公開 / 締切: the rule moves the market on from `source` (audited); a market already
    moved (a double tap) or moved elsewhere answers with its outcome, never an error."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    if market.status != source:
        return to_market(market.id, done if market.status == done else "stale")
    try:
        async with in_transaction():
            fresh = await change(market.id)
            await audit.record(request, action, "market", market.id, market_detail(fresh))
    except rules.BadMarket as exc:
        return await market_page(request, market, errors=[refused, *exc.problems], status_code=400)
    except rules.MarketError as exc:
        return await market_page(request, market, errors=[exc.message], status_code=400)
    return to_market(market.id, done)


@staff_required
async def market_publish(request: Request) -> Response:
    """公開する: a draft becomes open for applications within its window."""
    return await _move(
        request,
        source=MarketStatus.DRAFT,
        change=rules.publish,
        action="market.market.publish",
        done="published",
        refused="公開できませんでした。",
    )


@staff_required
async def market_close(request: Request) -> Response:
    """締め切る: no more applications (also before the window's end)."""
    return await _move(
        request,
        source=MarketStatus.PUBLISHED,
        change=rules.close,
        action="market.market.close",
        done="closed",
        refused="締め切れませんでした。",
    )
