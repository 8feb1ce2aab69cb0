"""審査, per market: the applications as cards (photo thumbnails — full size on a click —,
the artist's name, ジャンル, what they sell, booths, needs, URL, status), the ジャンル counts
against the booths (the genre balance at a glance), filters by ジャンル and status, the jury's
private notes and scores (every reviewer sees everyone's and the average), and the decisions
採択 / 補欠 / 不採択 — one at a time or for the ticked cards at once, each refusal listed with
its reason (booths full) — plus 差し戻し with a message the artist gets on LINE.

The rules live in shima.domain.market (two staff accepting the last booth at once: the rules
accept one, the other's page says the booths are full); the artist's 差し戻し notice is
line_app.notices.market. Every view and change is audited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from tortoise.transactions import in_transaction

from admin import audit
from admin.auth import staff_required
from admin.errors import error_page
from admin.forms import (
    NONCE,
    Flash,
    flash,
    form_text,
    new_nonce,
    parse_int,
    short_text,
    too_long,
    typed_text,
)
from admin.market.markets import ACTIVE, MARKETS_PATH, market_or_404, market_state
from admin.pages import render
from line_app.notices import market as market_notices
from models.market import (
    ApplicationStatus,
    Market,
    MarketApplication,
    MarketPhoto,
    MarketReview,
)
from models.staff import StaffUser
from shima.domain import market as rules

APPLICATIONS_PATH = MARKETS_PATH + "/applications"
NOTE_MAX = rules.NOTE_MAX
RETURN_MAX = rules.RETURN_MESSAGE_MAX
PHOTO_FIELDS = ("id", "application_id", "image_set_id", "image_set_index", "width", "height")

# Decisions staff can take on a card (`decision` in the forms): the three results and the
# undo back to 審査中 (until the applicant has been told).
DECISIONS: dict[str, str] = {
    ApplicationStatus.ACCEPTED.value: "採択",
    ApplicationStatus.RESERVE.value: "補欠",
    ApplicationStatus.REJECTED.value: "不採択",
    ApplicationStatus.SUBMITTED.value: "審査中に戻す",
}
DECIDABLE = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.RESERVE,
    ApplicationStatus.REJECTED,
)
# The status filter: key → (label, statuses). "" is every application still in the running.
STATUS_FILTERS: dict[str, tuple[str, tuple[ApplicationStatus, ...]]] = {
    "": (
        "すべて",
        (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.RETURNED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.RESERVE,
            ApplicationStatus.OFFERED,
            ApplicationStatus.REJECTED,
        ),
    ),
    "submitted": ("審査中", (ApplicationStatus.SUBMITTED,)),
    "accepted": ("採択", (ApplicationStatus.ACCEPTED,)),
    "reserve": ("補欠", (ApplicationStatus.RESERVE, ApplicationStatus.OFFERED)),
    "rejected": ("不採択", (ApplicationStatus.REJECTED,)),
    "returned": ("差し戻し中", (ApplicationStatus.RETURNED,)),
    "withdrawn": (
        "取り下げ・辞退",
        (ApplicationStatus.WITHDRAWN, ApplicationStatus.DECLINED, ApplicationStatus.EXPIRED),
    ),
}
SORTS = {"": "申込順", "score": "平均点の高い順"}

AUDIT_LABELS: dict[str, str] = {
    "market.review.view": "マーケットの審査画面の閲覧",
    "market.application.view": "マーケットの出店申込みの閲覧",
    "market.photo.view": "出店申込みの作品写真の閲覧",
    "market.application.decide": "出店申込みの審査結果の決定",
    "market.application.score": "出店申込みの評価・メモ",
    "market.application.return": "出店申込みの差し戻し（LINE）",
}
TARGET_LABELS: dict[str, str] = {
    "market_application": "出店申込み",
    "market_photo": "作品写真",
}
TARGET_URLS: dict[str, str] = {
    "market_application": APPLICATIONS_PATH + "/{id}",
    "market_photo": MARKETS_PATH + "/photos/{id}.jpg",
}
DETAIL_LABELS: dict[str, str] = {
    "market": "マーケット",
    "application": "出店申込み",
    "decision": "審査結果",
    "bulk": "まとめて決定した件数",
    "score": "点数",
    "note": "メモ",
    "category": "ジャンル",
    "status_filter": "状態で絞り込み",
    "pushes": "送信数",
    "message_chars": "メッセージの文字数",
}
DETAIL_VALUES: dict[str, dict[str, str]] = {
    "decision": {s.value: s.label for s in ApplicationStatus},
    "status_filter": {key: label for key, (label, _) in STATUS_FILTERS.items() if key},
    "note": {"written": "記入あり", "empty": "なし"},
}

OUTCOMES: dict[str, Flash] = {
    "decided": (
        "success",
        "審査結果を保存しました（申込者への通知は「結果を通知」でまとめて行います）。",
    ),
    "bulk": ("success", "選んだ申込みの審査結果を保存しました。"),
    "scored": ("success", "評価とメモを保存しました（スタッフだけが見られます）。"),
    "returned": (
        "success",
        "差し戻しました。出店者に LINE でお知らせし、直して申し込み直せるようにしました。",
    ),
    "returned_blocked": (
        "warning",
        "差し戻しました。出店者は LINE をブロック中のため、お知らせは届きません"
        "（電話などでお伝えください）。",
    ),
    "stale": (
        "warning",
        "この申込みは状態が変わっていたため、操作できませんでした。最新の内容を確認してください。",
    ),
}


# ---------- Filters ----------


@dataclass(frozen=True)
class Filters:
    category: str = ""
    status: str = ""
    sort: str = ""

    def query(self, **extra: str) -> str:
        params = {k: v for k, v in vars(self).items() if v}
        params.update({k: v for k, v in extra.items() if v})
        return f"?{urlencode(params)}" if params else ""

    def as_form(self) -> dict[str, str]:
        """The hidden fields that bring a POST back to this view."""
        return {"f_category": self.category, "f_status": self.status, "f_sort": self.sort}

    @classmethod
    def read(
        cls, params: Mapping[str, object], categories: Iterable[str], prefix: str = ""
    ) -> Filters:
        """The filters asked for; values that are not ones we offer are dropped (never
        reflected)."""
        category = short_text(params, prefix + "category", rules.CATEGORY_MAX + 1)
        status = short_text(params, prefix + "status", 16)
        sort = short_text(params, prefix + "sort", 8)
        return cls(
            category=category if category in set(categories) else "",
            status=status if status in STATUS_FILTERS else "",
            sort=sort if sort in SORTS else "",
        )


def review_url(market_id: int, filters: Filters, anchor: str = "", **extra: str) -> str:
    return f"{MARKETS_PATH}/{market_id}/review{filters.query(**extra)}" + (
        f"#{anchor}" if anchor else ""
    )


# ---------- The cards ----------


@dataclass(frozen=True)
class ReviewLine:
    """One reviewer's score and note, as every reviewer sees it."""

    staff_name: str
    score: int | None
    note: str
    mine: bool
    review: MarketReview


@dataclass
class Card:
    application: MarketApplication
    photos: list[MarketPhoto] = field(default_factory=list)
    reviews: list[ReviewLine] = field(default_factory=list)

    @property
    def mine(self) -> ReviewLine | None:
        return next((r for r in self.reviews if r.mine), None)

    @property
    def scores(self) -> list[int]:
        return [r.score for r in self.reviews if r.score is not None]

    @property
    def average(self) -> float | None:
        scores = self.scores
        return round(sum(scores) / len(scores), 1) if scores else None

    @property
    def decidable(self) -> bool:
        app = self.application
        return app.status in DECIDABLE and app.result_notified_at is None

    @property
    def returnable(self) -> bool:
        return self.application.status == ApplicationStatus.SUBMITTED

    @property
    def safe_url(self) -> str:
        """The artist's URL when it is a web address (the rules only store those)."""
        url = self.application.url
        return url if url.lower().startswith(("https://", "http://")) else ""


async def staff_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await StaffUser.filter(id__in=wanted).values_list("id", "display_name", "email")
    return {int(i): str(name or email) for i, name, email in rows}


async def cards_of(applications: Sequence[MarketApplication], staff_id: int) -> list[Card]:
    """The applications with their photos (metadata only) and reviews, in two queries."""
    ids = [a.id for a in applications]
    cards = {a.id: Card(a) for a in applications}
    if not ids:
        return []
    for photo in (
        await MarketPhoto.filter(application_id__in=ids, error="")
        .order_by("application_id", "id")
        .only(*PHOTO_FIELDS)
    ):
        if photo.application_id is not None:
            cards[photo.application_id].photos.append(photo)
    reviews = await MarketReview.filter(application_id__in=ids).order_by("updated_at", "id")
    names = await staff_names(r.staff_id for r in reviews)
    for review in reviews:
        if review.score is None and not review.note:
            continue  # cleared: nothing to show
        cards[review.application_id].reviews.append(
            ReviewLine(
                staff_name=names.get(review.staff_id, "（削除されたスタッフ）"),
                score=review.score,
                note=review.note,
                mine=review.staff_id == staff_id,
                review=review,
            )
        )
    return [cards[i] for i in ids]


# ---------- The genre balance ----------


@dataclass(frozen=True)
class Genre:
    """One ジャンル's applications by where they stand, in applications and in booths."""

    name: str
    listed: bool  # one of the market's ジャンル (else an old name still on applications)
    accepted: int = 0
    accepted_booths: int = 0
    reserve: int = 0
    reserve_booths: int = 0
    submitted: int = 0
    submitted_booths: int = 0
    rejected: int = 0
    returned: int = 0

    @property
    def total(self) -> int:
        return self.accepted + self.reserve + self.submitted + self.rejected + self.returned


@dataclass(frozen=True)
class Balance:
    genres: list[Genre]
    booths: int
    booths_taken: int
    scale: int  # the bars' full width, in booths

    @property
    def accepted_booths(self) -> int:
        return sum(g.accepted_booths for g in self.genres)


def balance_of(market: Market, applications: Sequence[MarketApplication]) -> Balance:
    """The ジャンル counts against the booths: per ジャンル, how many booths are 採択, held for
    補欠 and still in 審査中 (each bar is as wide as the market's booths)."""
    listed = rules.categories_of(market)
    counts: dict[str, dict[str, int]] = {c: {} for c in listed}
    for app in applications:
        status = ApplicationStatus(app.status)
        key = {
            ApplicationStatus.ACCEPTED: "accepted",
            ApplicationStatus.RESERVE: "reserve",
            ApplicationStatus.OFFERED: "reserve",
            ApplicationStatus.SUBMITTED: "submitted",
            ApplicationStatus.REJECTED: "rejected",
            ApplicationStatus.RETURNED: "returned",
        }.get(status)
        if key is None:
            continue
        row = counts.setdefault(app.category or "（未選択）", {})
        row[key] = row.get(key, 0) + 1
        if key in ("accepted", "reserve", "submitted"):
            booths = f"{key}_booths"
            row[booths] = row.get(booths, 0) + app.booths_requested
    genres = [Genre(name=name, listed=name in listed, **row) for name, row in counts.items()]
    widest = max(
        (g.accepted_booths + g.reserve_booths + g.submitted_booths for g in genres), default=0
    )
    return Balance(genres, market.booths, market.booths_taken, max(market.booths, widest, 1))


# ---------- Loading ----------


async def applications_of(market_id: int) -> list[MarketApplication]:
    """Every application sent to the jury (drafts being entered in LINE are not), in the
    order they were sent."""
    return list(
        await MarketApplication.filter(market_id=market_id)
        .exclude(status=ApplicationStatus.DRAFT)
        .select_related("resident")
        .order_by("submitted_at", "id")
    )


def known_categories(market: Market, applications: Iterable[MarketApplication]) -> list[str]:
    listed = rules.categories_of(market)
    extra = sorted({a.category for a in applications if a.category and a.category not in listed})
    return [*listed, *extra]


async def application_or_404(request: Request) -> MarketApplication | Response:
    application = await MarketApplication.get_or_none(
        id=request.path_params["application_id"]
    ).select_related("market", "resident")
    if application is None or application.status == ApplicationStatus.DRAFT:
        return error_page(request, 404, title="出店申込みが見つかりません")
    return application


@dataclass
class Report:
    """What a decision POST did, when something was refused (shown on the page)."""

    decision: str
    done: int
    refused: list[tuple[str, str]]  # (artist, reason)
    refused_ids: frozenset[int] = frozenset()  # left ticked, to decide them otherwise

    @property
    def by_reason(self) -> list[tuple[str, list[str]]]:
        """The refusals as staff read them: each reason once, with its artists (a bulk
        採択 beyond the booths refuses many for the same reason)."""
        groups: dict[str, list[str]] = {}
        for name, reason in self.refused:
            groups.setdefault(reason, []).append(name)
        return list(groups.items())


async def review_page(
    request: Request,
    market: Market,
    filters: Filters,
    *,
    report: Report | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    staff = request.state.staff
    every = await applications_of(market.id)
    statuses = STATUS_FILTERS[filters.status][1]
    shown = [
        a
        for a in every
        if a.status in statuses and (not filters.category or a.category == filters.category)
    ]
    cards = await cards_of(shown, staff.id)
    if filters.sort == "score":
        cards.sort(key=lambda c: (c.average is None, -(c.average or 0)))
    status_counts = {
        key: sum(
            1
            for a in every
            if a.status in wanted and (not filters.category or a.category == filters.category)
        )
        for key, (_, wanted) in STATUS_FILTERS.items()
    }
    return render(
        request,
        "admin/market/review.html",
        {
            "market": market,
            "tab": "review",
            "state": market_state,
            "cards": cards,
            "balance": balance_of(market, every),
            "filters": filters,
            "categories": known_categories(market, every),
            "status_filters": STATUS_FILTERS,
            "status_counts": status_counts,
            "sorts": SORTS,
            "decisions": DECISIONS,
            "report": report,
            "errors": errors or [],
            "outcome": bulk_outcome(request) or flash(request, OUTCOMES),
            "chip_urls": {
                key: review_url(
                    market.id, Filters(category=filters.category, status=key, sort=filters.sort)
                )
                for key in STATUS_FILTERS
            },
            "ticked": report.refused_ids if report else frozenset(),
            "note_max": NOTE_MAX,
            "back": filters.as_form(),
        },
        status_code=status_code,
        active=ACTIVE,
    )


def bulk_outcome(request: Request) -> Flash | None:
    """After a bulk decision: how many were decided and to what (「12件を「補欠」にしました」)."""
    params = request.query_params
    count = parse_int(params.get("n"))
    label = DECISIONS.get(str(params.get("d", "")))
    if params.get("done") != "bulk" or count is None or label is None:
        return None
    if label == DECISIONS[ApplicationStatus.SUBMITTED.value]:
        return ("success", f"{count}件を審査中に戻しました。")
    return (
        "success",
        f"{count}件を「{label}」にしました（申込者への通知は「結果を通知」でまとめて行います）。",
    )


@staff_required
async def review(request: Request) -> Response:
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    every = await MarketApplication.filter(market_id=market.id).values_list("category", flat=True)
    listed = rules.categories_of(market)
    filters = Filters.read(request.query_params, [*listed, *(str(c) for c in every)])
    await audit.record(
        request,
        "market.review.view",
        "market",
        market.id,
        {
            k: v
            for k, v in {"category": filters.category, "status_filter": filters.status}.items()
            if v
        },
    )
    return await review_page(request, market, filters)


async def application_page(
    request: Request,
    application: MarketApplication,
    *,
    errors: list[str] | None = None,
    values: Mapping[str, str] | None = None,
    report: Report | None = None,
    status_code: int = 200,
) -> Response:
    staff = request.state.staff
    cards = await cards_of([application], staff.id)
    return render(
        request,
        "admin/market/application.html",
        {
            "market": application.market,
            "tab": "review",
            "state": market_state,
            "card": cards[0],
            "decisions": DECISIONS,
            "errors": errors or [],
            "values": values or {},
            "report": report,
            "outcome": flash(request, OUTCOMES),
            "note_max": NOTE_MAX,
            "back": {"from": "application"},
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def application_detail(request: Request) -> Response:
    application = await application_or_404(request)
    if isinstance(application, Response):
        return application
    await audit.record(
        request,
        "market.application.view",
        "market_application",
        application.id,
        {"market": application.market_id},
    )
    return await application_page(request, application)


# ---------- Decisions ----------


def _ids(form: FormData) -> list[int]:
    found = []
    for value in form.getlist("ids")[: rules.MAX_BOOTHS * 4]:
        number = parse_int(value) if isinstance(value, str) else None
        if number is not None:
            found.append(number)
    return list(dict.fromkeys(found))


@staff_required
async def decide(request: Request) -> Response:
    """採択 / 補欠 / 不採択 / 審査中に戻す for one card (its own buttons) or for the ticked cards
    (the bulk bar): each refusal (booths full, already told) is listed with its reason and
    changes nothing; the others are saved."""
    market = await market_or_404(request)
    if isinstance(market, Response):
        return market
    form = await request.form()
    every = await MarketApplication.filter(market_id=market.id).values_list("category", flat=True)
    filters = Filters.read(form, [*rules.categories_of(market), *map(str, every)], prefix="f_")
    from_application = short_text(form, "from", 16) == "application"
    decision = short_text(form, "decision", 16)
    ids = _ids(form)
    if decision not in DECISIONS:
        return await review_page(
            request, market, filters, errors=["審査結果を選んでください。"], status_code=400
        )
    if not ids:
        return await review_page(
            request,
            market,
            filters,
            errors=["まとめて決める申込みを、カードのチェックボックスで選んでください。"],
            status_code=400,
        )
    # Only this market's applications (a forged id of another market is refused, not done).
    mine = dict(
        await MarketApplication.filter(id__in=ids, market_id=market.id).values_list(
            "id", "artist_name"
        )
    )
    staff = request.state.staff
    chosen = ApplicationStatus(decision)
    refused: list[tuple[int, str]] = [
        (i, "このマーケットの申込みではありません。") for i in ids if i not in mine
    ]
    async with in_transaction():
        done, rule_refused = await rules.decide_many(
            [i for i in ids if i in mine], chosen, staff.id
        )
        for application in done:
            await audit.record(
                request,
                "market.application.decide",
                "market_application",
                application.id,
                {
                    "market": market.id,
                    "decision": decision,
                    **({"bulk": len(ids)} if len(ids) > 1 else {}),
                },
            )
    refused += rule_refused
    if refused:
        names = {int(i): str(n) for i, n in mine.items()}
        report = Report(
            decision=DECISIONS[decision],
            done=len(done),
            refused=[(names.get(i) or f"申込み番号 {i}", reason) for i, reason in refused],
            refused_ids=frozenset(int(i) for i, _ in refused if i in mine),
        )
        if from_application and len(ids) == 1 and ids[0] in mine:
            application = await MarketApplication.get(id=ids[0]).select_related(
                "market", "resident"
            )
            return await application_page(request, application, report=report, status_code=409)
        fresh = await Market.get(id=market.id)
        return await review_page(request, fresh, filters, report=report, status_code=409)
    if from_application and len(ids) == 1:
        return RedirectResponse(f"{APPLICATIONS_PATH}/{ids[0]}?done=decided", status_code=303)
    if len(ids) == 1:
        return RedirectResponse(
            review_url(market.id, filters, f"a{ids[0]}", done="decided"), status_code=303
        )
    return RedirectResponse(
        review_url(market.id, filters, "cards", done="bulk", n=str(len(done)), d=decision),
        status_code=303,
    )


# ---------- The jury's notes and scores ----------


@staff_required
async def score(request: Request) -> Response:
    """A reviewer's own score (1–5, or none) and private note on an application."""
    application = await application_or_404(request)
    if isinstance(application, Response):
        return application
    form = await request.form()
    values = {"score": typed_text(form, "score"), "note": typed_text(form, "note")}
    errors = too_long(form, {"note": ("メモ", NOTE_MAX)})
    score_text = short_text(form, "score", 2)
    value = parse_int(score_text) if score_text else None
    if score_text and (value is None or not 1 <= value <= 5):
        errors.append("点数は1〜5から選んでください（付けないときは「なし」）。")
    if errors:
        return await application_page(
            request, application, errors=errors, values=values, status_code=400
        )
    note = form_text(form, "note", NOTE_MAX)
    staff = request.state.staff
    try:
        async with in_transaction():
            await rules.review(application.id, staff.id, value, note)
            await audit.record(
                request,
                "market.application.score",
                "market_application",
                application.id,
                {
                    "market": application.market_id,
                    "score": value if value is not None else "",
                    "note": "written" if note else "empty",
                },
            )
    except rules.MarketError as exc:
        return await application_page(
            request, application, errors=[exc.message], values=values, status_code=400
        )
    if short_text(form, "from", 16) == "application":
        return RedirectResponse(
            f"{APPLICATIONS_PATH}/{application.id}?done=scored#jury", status_code=303
        )
    market = application.market
    every = await MarketApplication.filter(market_id=market.id).values_list("category", flat=True)
    filters = Filters.read(form, [*rules.categories_of(market), *map(str, every)], prefix="f_")
    return RedirectResponse(
        review_url(market.id, filters, f"a{application.id}", done="scored"), status_code=303
    )


# ---------- 差し戻し ----------


async def _return_page(
    request: Request,
    application: MarketApplication,
    *,
    message: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/market/return.html",
        {
            "market": application.market,
            "tab": "review",
            "state": market_state,
            "application": application,
            # The photos too: what to fix is often one of them (「全体がわかる写真を…」).
            "photos": await MarketPhoto.filter(application_id=application.id, error="")
            .order_by("id")
            .only(*PHOTO_FIELDS),
            "message": message,
            "errors": errors or [],
            "message_max": RETURN_MAX,
            "nonce": new_nonce(),
            "returnable": application.status == ApplicationStatus.SUBMITTED,
        },
        status_code=status_code,
        active=ACTIVE,
    )


@staff_required
async def send_back(request: Request) -> Response:
    """差し戻す: GET the form (what to fix, with the application's summary); POST sends it —
    the application goes back to the artist (差し戻し) and they get the message on LINE, in
    one transaction."""
    application = await application_or_404(request)
    if isinstance(application, Response):
        return application
    if request.method == "GET":
        # The form shows the application (its photos too): a view like its own page.
        await audit.record(
            request,
            "market.application.view",
            "market_application",
            application.id,
            {"market": application.market_id},
        )
        return await _return_page(request, application)
    form = await request.form()
    typed = typed_text(form, "message")
    errors = too_long(form, {"message": ("差し戻しのメッセージ", RETURN_MAX)})
    message = "" if errors else form_text(form, "message", RETURN_MAX)
    if not errors and not message:
        errors.append(
            "出店者に直してほしいことを入力してください。この文面が LINE で出店者に届きます。"
        )
    if errors:
        return await _return_page(
            request, application, message=typed, errors=errors, status_code=400
        )
    nonce = form_text(form, "nonce", 64)
    staff = request.state.staff
    try:
        async with in_transaction():
            returned = await rules.send_back(application.id, message, staff.id)
            pushes = await market_notices.sent_back(
                returned, message, nonce if NONCE.fullmatch(nonce) else ""
            )
            await audit.record(
                request,
                "market.application.return",
                "market_application",
                application.id,
                # That a message was sent and its length: never its text (it is about the
                # artist's application, and the audit log keeps no residents' free text).
                {"market": application.market_id, "message_chars": len(message), "pushes": pushes},
            )
    except rules.MarketError as exc:
        fresh = await MarketApplication.get(id=application.id).select_related("market", "resident")
        return await _return_page(
            request, fresh, message=typed, errors=[exc.message], status_code=409
        )
    done = "returned" if application.resident.is_following else "returned_blocked"
    return RedirectResponse(
        review_url(application.market_id, Filters(), f"a{application.id}", done=done),
        status_code=303,
    )
