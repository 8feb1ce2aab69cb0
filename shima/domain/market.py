"""ハンドメイドマーケット rules — the one place for them: the application window, an artist's
draft saved at every step, one application per artist and market, submitting (once, whatever
the taps), editing and withdrawing, the jury's decisions with the booth count, 差し戻し,
claiming the results for 結果を通知 (each applicant once), booths and fees, and the 補欠
offers when an accepted artist withdraws. Called by the LINE flow, the admin and the worker's
job alike, always inside the caller's transaction.

Booths are counted on the market's own row by conditional updates that must touch one row
(`booths_taken <= booths - n`), after `_locked_market` (`SELECT … FOR UPDATE` on PostgreSQL;
SQLite runs one writer): two staff accepting the last booth at once → one is accepted, the
other gets `MarketFull`.

A booth freed after the results goes, as for 寺子屋 seats (shima.domain.offers), to the first
補欠 (in the order staff decided them) whose request fits, held until a deadline of
`market_offer_hours` daytime hours (never after the market's start); `run_offers` expires
lapsed offers and offers again.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import F

from models.market import (
    DECISIONS,
    DEFAULT_CATEGORIES,
    HOLDING,
    ApplicationStatus,
    Market,
    MarketApplication,
    MarketPhoto,
    MarketReview,
    MarketStatus,
)
from models.residents import Resident
from shima.domain import market_photos
from shima.domain.offers import is_quiet, offer_deadline
from shima.settings import Settings
from shima.timeutil import JST, format_date_ja, format_jst, now

ARTIST_NAME_MAX = 50
ITEMS_MAX = 1000
URL_MAX = 500
RETURN_MESSAGE_MAX = 1000
NOTE_MAX = 2000
REASON_MAX = 300
BOOTH_NUMBER_MAX = 20
MAX_BOOTHS = 500
MAX_PHOTOS = 10
CATEGORY_MAX = 30
MAX_CATEGORIES = 20

# Draft steps, in order: `MarketApplication.step` says where the artist continues.
STEPS = ("name", "category", "items", "photos", "booths", "needs", "url", "confirm")
EDITABLE = (ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED, ApplicationStatus.RETURNED)


# -- errors: `message` is what the artist or staff member is told --------------------------


class MarketError(Exception):
    message = "お申し込みを受け付けられませんでした。"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class MarketNotFound(MarketError):
    message = "このマーケットは見つかりませんでした。"


class WindowClosed(MarketError):
    """Outside the application window (the message says when it is)."""

    def __init__(self, market: Market) -> None:
        at = now()
        if market.status == MarketStatus.PUBLISHED and at < market.applications_open_at:
            text = (
                f"「{market.name}」の出店申込みは、{window_text(market)}に受け付けます。"
                "受付開始まで、もう少しお待ちください。"
            )
        else:
            text = (
                f"「{market.name}」の出店申込みは締め切りました"
                f"（受付期間：{window_text(market)}）。"
            )
        super().__init__(text)
        self.market = market


class NotYours(MarketError):
    message = "このお申し込みは見つかりませんでした。"


class NotEditable(MarketError):
    message = "このお申し込みは、いまは変更できません。"


class Incomplete(MarketError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__("まだ入力されていない項目があります：" + "、".join(missing))
        self.missing = missing


class BadValue(MarketError):
    pass


class PhotoLimit(MarketError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"写真は{limit}枚までです。")
        self.limit = limit


class MarketFull(MarketError):
    def __init__(self, left: int) -> None:
        super().__init__(
            "ブースが埋まっています（残り"
            f"{left}ブース）。ほかの採択を見直すか、補欠にしてください。"
        )
        self.left = left


class NotDecidable(MarketError):
    message = "このお申し込みは、いまは審査結果を変えられません。"


class OfferGone(MarketError):
    message = "このご案内は期限が過ぎたか、すでに終了しています。"


class BoothTaken(MarketError):
    pass


class BadMarket(MarketError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# -- what happened, for the caller to tell ------------------------------------------------


@dataclass
class Outcome:
    application: MarketApplication | None = None
    offers: list[MarketApplication] = field(default_factory=list)  # 補欠 offered a booth
    expired: list[MarketApplication] = field(default_factory=list)  # offers that lapsed

    def merge(self, other: Outcome) -> Outcome:
        self.offers += other.offers
        self.expired += other.expired
        return self


# -- reading ------------------------------------------------------------------------------


def window_text(market: Market) -> str:
    """「12月1日(火) 10:00〜12月20日(日) 23:59」 (dates as elsewhere: format_date_ja)."""
    opens, closes = market.applications_open_at, market.applications_close_at
    return (
        f"{format_date_ja(opens)} {format_jst(opens, '%H:%M')}〜"
        f"{format_date_ja(closes)} {format_jst(closes, '%H:%M')}"
    )


def is_open(market: Market, at: datetime | None = None) -> bool:
    """Whether the market takes applications now."""
    at = at or now()
    return (
        market.status == MarketStatus.PUBLISHED
        and market.applications_open_at <= at < market.applications_close_at
    )


async def open_markets() -> list[Market]:
    at = now()
    return await Market.filter(
        status=MarketStatus.PUBLISHED,
        applications_open_at__lte=at,
        applications_close_at__gt=at,
    ).order_by("starts_at", "id")


async def upcoming_markets() -> list[Market]:
    """Published markets whose window opens later (the next one coming)."""
    return await Market.filter(
        status=MarketStatus.PUBLISHED, applications_open_at__gt=now()
    ).order_by("applications_open_at", "id")


async def get_market(market_id: int) -> Market:
    market = await Market.get_or_none(id=market_id)
    if market is None:
        raise MarketNotFound
    return market


async def get_own(resident: Resident, application_id: int) -> MarketApplication:
    """The resident's own application (market loaded); another's id is NotYours."""
    application = await MarketApplication.get_or_none(
        id=application_id, resident_id=resident.id
    ).select_related("market")
    if application is None:
        raise NotYours
    return application


async def mine(resident: Resident) -> list[MarketApplication]:
    """The resident's applications to markets that have not ended, drafts included."""
    return (
        await MarketApplication.filter(resident_id=resident.id, market__ends_at__gt=now())
        .exclude(status=ApplicationStatus.WITHDRAWN)
        .select_related("market")
        .order_by("market__starts_at", "id")
    )


_PHOTO_META = ("id", "application_id", "image_set_id", "image_set_index", "width", "height")


async def photos_of(application_id: int) -> list[MarketPhoto]:
    """The application's photos in order (metadata only: the bytes are served apart); an
    imageSet's photos in the set's own order (market_photos.in_order)."""
    return market_photos.in_order(
        await MarketPhoto.filter(application_id=application_id, error="")
        .order_by("id")
        .only(*_PHOTO_META)
    )


async def photo_count(application_id: int) -> int:
    return await MarketPhoto.filter(application_id=application_id, error="").count()


async def category_counts(market_id: int) -> dict[str, Counter[str]]:
    """Per category: how many applications in each status (drafts left out)."""
    rows = (
        await MarketApplication.filter(market_id=market_id)
        .exclude(status=ApplicationStatus.DRAFT)
        .values_list("category", "status")
    )
    counts: dict[str, Counter[str]] = {}
    for category, status in rows:
        counts.setdefault(str(category), Counter())[str(status)] += 1
    return counts


def missing(application: MarketApplication, market: Market, photos: int) -> list[str]:
    """What the application still lacks before it can be submitted (Japanese)."""
    lacks = []
    if not application.artist_name:
        lacks.append("出店者名・屋号")
    if not application.category:
        lacks.append("ジャンル")
    if not application.items:
        lacks.append("販売するもの")
    if photos < market.photos_min:
        lacks.append(f"作品の写真（あと{market.photos_min - photos}枚）")
    return lacks


def categories_of(market: Market) -> list[str]:
    return list(market.categories or DEFAULT_CATEGORIES)


# -- the artist's side --------------------------------------------------------------------


async def start(resident: Resident, market_id: int) -> MarketApplication:
    """The resident's application to the market: a new draft while the window is open, or
    the one they already have (one per artist and market, whatever its status)."""
    market = await get_market(market_id)
    application = await MarketApplication.get_or_none(
        market_id=market_id, resident_id=resident.id
    ).select_related("market")
    if application is not None and application.status != ApplicationStatus.WITHDRAWN:
        return application
    if not is_open(market):
        raise WindowClosed(market)
    if application is not None:  # withdrawn while the window is open: start again
        await MarketApplication.filter(
            id=application.id, status=ApplicationStatus.WITHDRAWN
        ).update(status=ApplicationStatus.DRAFT, step=STEPS[0], request_key=None)
        await application.refresh_from_db()
        application.market = market
        return application
    # One resident's events are handled one at a time, in order, so nothing creates it
    # meanwhile; the unique (market, resident) pair would refuse a second row anyway.
    application = await MarketApplication.create(market_id=market_id, resident_id=resident.id)
    application.market = market
    return application


def _editable(application: MarketApplication) -> None:
    if application.status not in EDITABLE:
        raise NotEditable
    if not is_open(application.market) and application.status != ApplicationStatus.RETURNED:
        raise WindowClosed(application.market)


_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)


def clean_url(value: str) -> str:
    """An SNS or shop URL as typed; "" for none. BadValue when it is not a web address."""
    # Typed on a Japanese keyboard: 「＠ｎｕｎｏ」 and 「ｈｔｔｐｓ：／／…」 are the same address.
    value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        return ""
    if value.startswith("@") and re.fullmatch(r"@[A-Za-z0-9._]{1,30}", value):
        return f"https://www.instagram.com/{value[1:]}"  # an Instagram handle, as often given
    if not value.lower().startswith(("http://", "https://")) and "." in value and " " not in value:
        value = "https://" + value
    if len(value) > URL_MAX or not _URL.fullmatch(value):
        raise BadValue(
            "URLの形式が正しくないようです。https:// から始まるアドレスを送ってください"
            "（なければ「スキップ」）。"
        )
    return value


def _clean(market: Market, fields: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "artist_name":
            name = " ".join(str(value).split())
            if not name:
                raise BadValue("出店者名・屋号を入力してください。")
            if len(name) > ARTIST_NAME_MAX:
                raise BadValue(f"出店者名・屋号は{ARTIST_NAME_MAX}文字以内でお願いします。")
            changes[key] = name
        elif key == "category":
            if value not in categories_of(market):
                raise BadValue("ジャンルは下のボタンからお選びください。")
            changes[key] = value
        elif key == "items":
            items = str(value).strip()
            if not items:
                raise BadValue("販売するものを入力してください。")
            if len(items) > ITEMS_MAX:
                raise BadValue(f"販売するものは{ITEMS_MAX}文字以内でお願いします。")
            changes[key] = items
        elif key == "booths_requested":
            most = 2 if market.allow_two_booths else 1
            if value not in range(1, most + 1):
                raise BadValue(f"ブース数は{most}までです。")
            changes[key] = int(value)
        elif key in ("needs_table", "needs_power"):
            changes[key] = bool(value)
        elif key == "url":
            changes[key] = clean_url(str(value))
        else:
            raise ValueError(f"unknown field {key}")
    return changes


async def save(
    resident: Resident, application_id: int, *, step: str | None = None, **fields: Any
) -> MarketApplication:
    """Save fields of the resident's application (validated) and where the draft goes on."""
    application = await get_own(resident, application_id)
    _editable(application)
    changes = _clean(application.market, fields)
    if step is not None:
        if step not in STEPS:
            raise ValueError(f"unknown step {step}")
        changes["step"] = step
    if changes:
        await MarketApplication.filter(id=application.id).update(**changes, updated_at=now())
        for key, value in changes.items():
            setattr(application, key, value)
    return application


async def attach_photo(resident: Resident, application_id: int, photo: MarketPhoto) -> int:
    """Attach a stored photo (fetched before the transaction) to the application; returns
    how many it has now. PhotoLimit at the market's maximum (the photo is left unattached)."""
    application = await get_own(resident, application_id)
    _editable(application)
    if photo.resident_id != resident.id or photo.error:
        raise NotYours
    if photo.application_id == application.id:
        return await photo_count(application.id)  # the same event handled again
    count = await photo_count(application.id)
    if count >= application.market.photos_max:
        raise PhotoLimit(application.market.photos_max)
    await MarketPhoto.filter(id=photo.id, application_id=None).update(application_id=application.id)
    return count + 1


async def remove_photo(resident: Resident, application_id: int, photo_id: int) -> int:
    """Remove one photo (its bytes too); returns how many are left."""
    application = await get_own(resident, application_id)
    _editable(application)
    await MarketPhoto.filter(id=photo_id, application_id=application.id).delete()
    return await photo_count(application.id)


async def remove_photos(resident: Resident, application_id: int) -> None:
    """Start the photos again (写真を送り直す)."""
    application = await get_own(resident, application_id)
    _editable(application)
    await MarketPhoto.filter(application_id=application.id).delete()


async def unsend(resident: Resident, line_message_id: str) -> bool:
    """The artist unsent a photo in LINE: remove it wherever it is (attached or not)."""
    removed = await MarketPhoto.filter(
        line_message_id=line_message_id, resident_id=resident.id
    ).delete()
    return bool(removed)


ORPHAN_PHOTO_HOURS = 24


async def prune_photos(settings: Settings) -> int:
    """The worker's housekeeping: photos fetched but never taken into an application (over
    the maximum, or sent as the conversation moved on) and records of failed fetches, a
    day on. They are an artist's personal data: kept no longer than needed."""
    before = now() - timedelta(hours=ORPHAN_PHOTO_HOURS)
    await MarketPhoto.filter(application_id=None, created_at__lt=before).delete()
    return 0  # no messages queued


async def submit(
    resident: Resident, application_id: int, request_key: str
) -> tuple[MarketApplication, bool]:
    """申し込む: the application goes to the jury (審査中). Returns (application, newly):
    the same `request_key` again (a double tap) returns it with newly=False. Checked here,
    at the final step: the window (a 差し戻し may be fixed after it), completeness."""
    application = await get_own(resident, application_id)
    if application.request_key == request_key and application.status == (
        ApplicationStatus.SUBMITTED
    ):
        return application, False
    if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED):
        if application.status == ApplicationStatus.SUBMITTED:
            return application, False  # already with the jury (edits apply as made)
        raise NotEditable
    if await MarketApplication.filter(request_key=request_key).exclude(id=application.id).exists():
        raise NotEditable  # another application's button (forged or very old)
    _editable(application)
    lacks = missing(application, application.market, await photo_count(application.id))
    if lacks:
        raise Incomplete(lacks)
    at = now()
    updated = await MarketApplication.filter(id=application.id, status=application.status).update(
        status=ApplicationStatus.SUBMITTED,
        step="confirm",
        request_key=request_key,
        submitted_at=at,
        updated_at=at,
    )
    await application.refresh_from_db()
    return application, updated == 1


async def withdraw(resident: Resident, application_id: int, settings: Settings) -> Outcome:
    """取り下げ by the artist: before the results while the window is open (or after a
    差し戻し); a 補欠 any time; an accepted artist frees their booths for the 補欠."""
    application = await get_own(resident, application_id)
    status = ApplicationStatus(application.status)
    if status in EDITABLE and status != ApplicationStatus.RETURNED:
        _editable(application)
    elif status == ApplicationStatus.OFFERED:
        return await decline_offer(resident, application_id, settings)
    elif status not in (
        ApplicationStatus.RETURNED,
        ApplicationStatus.ACCEPTED,
        ApplicationStatus.RESERVE,
    ):
        raise NotEditable
    if application.market.starts_at <= now():
        raise NotEditable
    return await _withdraw(application, "", settings)


async def _withdraw(application: MarketApplication, reason: str, settings: Settings) -> Outcome:
    await _locked_market(application.market_id)
    was = ApplicationStatus(application.status)
    updated = await MarketApplication.filter(id=application.id, status=was).update(
        status=ApplicationStatus.WITHDRAWN,
        withdrawn_at=now(),
        withdraw_reason=reason[:REASON_MAX],
        request_key=None,
        offer_expires_at=None,
    )
    if updated != 1:
        raise NotEditable
    outcome = Outcome(application=application)
    if was in HOLDING:
        await _free_booths(application.market_id, application.booths_requested)
        outcome.merge(await fill(application.market_id, settings))
    await application.refresh_from_db()
    return outcome


async def accept_offer(resident: Resident, application_id: int) -> MarketApplication:
    """出店する on a 補欠 offer: the held booth becomes theirs."""
    application = await get_own(resident, application_id)
    if application.status == ApplicationStatus.ACCEPTED:
        return application  # tapped twice
    at = now()
    updated = await MarketApplication.filter(
        id=application.id,
        status=ApplicationStatus.OFFERED,
        offer_expires_at__gt=at,
    ).update(status=ApplicationStatus.ACCEPTED, decided_at=at, offer_expires_at=None)
    if updated != 1:
        raise OfferGone
    await application.refresh_from_db()
    return application


async def decline_offer(resident: Resident, application_id: int, settings: Settings) -> Outcome:
    """辞退する on a 補欠 offer: the booth goes to the next 補欠."""
    application = await get_own(resident, application_id)
    await _locked_market(application.market_id)
    updated = await MarketApplication.filter(
        id=application.id, status=ApplicationStatus.OFFERED
    ).update(status=ApplicationStatus.DECLINED, offer_expires_at=None)
    if updated != 1:
        raise OfferGone
    await _free_booths(application.market_id, application.booths_requested)
    await application.refresh_from_db()
    return Outcome(application=application).merge(await fill(application.market_id, settings))


# -- booths: every change of the market's counter goes through these ----------------------


async def _locked_market(market_id: int) -> Market | None:
    """The market row, locked until the caller's transaction ends (PostgreSQL; SQLite runs
    one transaction at a time): decisions, withdrawals and offers of one market take turns."""
    return await Market.filter(id=market_id).select_for_update().first()


async def _take_booths(market_id: int, n: int) -> bool:
    """Take `n` booths if free: a conditional UPDATE that must touch one row."""
    taken = await Market.filter(id=market_id, booths_taken__lte=F("booths") - n).update(
        booths_taken=F("booths_taken") + n
    )
    return taken == 1


async def _free_booths(market_id: int, n: int) -> None:
    await Market.filter(id=market_id, booths_taken__gte=n).update(
        booths_taken=F("booths_taken") - n
    )


# -- the jury -----------------------------------------------------------------------------


async def _any(application_id: int) -> MarketApplication:
    application = await MarketApplication.get_or_none(id=application_id).select_related(
        "market", "resident"
    )
    if application is None:
        raise NotYours
    return application


DECIDABLE = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.RESERVE,
    ApplicationStatus.REJECTED,
)


async def decide(
    application_id: int, decision: ApplicationStatus, staff_id: int
) -> MarketApplication:
    """採択 / 補欠 / 不採択 (or back to 審査中). Until the applicant has been told the result
    it may change; 採択 takes the booths (MarketFull when there are not enough)."""
    if decision not in (*DECISIONS, ApplicationStatus.SUBMITTED):
        raise NotDecidable
    application = await _any(application_id)
    await _locked_market(application.market_id)
    await application.refresh_from_db()
    was = ApplicationStatus(application.status)
    if was not in DECIDABLE or application.result_notified_at is not None:
        raise NotDecidable
    if was == decision:
        return application
    n = application.booths_requested
    if decision == ApplicationStatus.ACCEPTED and not await _take_booths(application.market_id, n):
        market = await Market.get(id=application.market_id)
        raise MarketFull(market.booths_left)
    at = now()
    updated = await MarketApplication.filter(
        id=application.id, status=was, result_notified_at=None
    ).update(
        status=decision,
        decided_at=None if decision == ApplicationStatus.SUBMITTED else at,
        decided_by_id=staff_id,
    )
    if updated != 1:
        if decision == ApplicationStatus.ACCEPTED:
            await _free_booths(application.market_id, n)
        raise NotDecidable
    if was == ApplicationStatus.ACCEPTED:
        await _free_booths(application.market_id, n)
    await application.refresh_from_db()
    return application


async def decide_many(
    application_ids: list[int], decision: ApplicationStatus, staff_id: int
) -> tuple[list[MarketApplication], list[tuple[int, str]]]:
    """The same decision for several applications, in the order given; each one refused
    (booths full, already told) is listed with the reason and changes nothing."""
    done: list[MarketApplication] = []
    refused: list[tuple[int, str]] = []
    for application_id in dict.fromkeys(application_ids):
        try:
            done.append(await decide(application_id, decision, staff_id))
        except MarketError as exc:
            refused.append((application_id, exc.message))
    return done, refused


async def send_back(application_id: int, message: str, staff_id: int) -> MarketApplication:
    """差し戻し: the artist is asked to fix something (the caller pushes the message)."""
    message = message.strip()
    if not message:
        raise BadValue("差し戻しの理由（直してほしいこと）を入力してください。")
    if len(message) > RETURN_MESSAGE_MAX:
        raise BadValue(f"差し戻しのメッセージは{RETURN_MESSAGE_MAX}文字以内にしてください。")
    application = await _any(application_id)
    await _locked_market(application.market_id)
    updated = await MarketApplication.filter(
        id=application.id, status=ApplicationStatus.SUBMITTED
    ).update(
        status=ApplicationStatus.RETURNED,
        return_message=message,
        returned_at=now(),
        decided_by_id=staff_id,
        request_key=None,
    )
    if updated != 1:
        raise NotDecidable("審査中のお申し込みだけ差し戻しできます。")
    await application.refresh_from_db()
    return application


async def review(application_id: int, staff_id: int, score: int | None, note: str) -> MarketReview:
    """A reviewer's private score (1–5 or none) and note on an application."""
    if score is not None and not 1 <= score <= 5:
        raise BadValue("点数は1〜5で付けてください。")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise BadValue(f"メモは{NOTE_MAX}文字以内にしてください。")
    await _any(application_id)
    row, _ = await MarketReview.update_or_create(
        defaults={"score": score, "note": note},
        application_id=application_id,
        staff_id=staff_id,
    )
    return row


async def pending_results(market_id: int) -> list[MarketApplication]:
    """Decided applications whose applicant has not been told yet (resident loaded)."""
    return (
        await MarketApplication.filter(
            market_id=market_id, status__in=DECISIONS, result_notified_at=None
        )
        .select_related("resident", "market")
        .order_by("id")
    )


async def claim_results(market_id: int) -> list[MarketApplication]:
    """結果を通知: claim every decided application not told yet (a compare-and-set, so two
    staff pressing at once, or a retry, tell each applicant once) and mark the market
    RESULTS_SENT. The caller queues the pushes in the same transaction."""
    market = await _locked_market(market_id)
    if market is None:
        raise MarketNotFound
    if market.status == MarketStatus.DRAFT or (
        market.status == MarketStatus.PUBLISHED and is_open(market)
    ):
        raise NotDecidable("受付期間が終わってから（締切にしてから）結果を通知してください。")
    at = now()
    due = await pending_results(market_id)
    claimed = []
    for application in due:
        won = await MarketApplication.filter(
            id=application.id, status=application.status, result_notified_at=None
        ).update(result_notified_at=at)
        if won == 1:
            application.result_notified_at = at
            claimed.append(application)
    await Market.filter(id=market_id).update(
        status=MarketStatus.RESULTS_SENT, results_sent_at=market.results_sent_at or at
    )
    return claimed


# -- after the results: booths, fees, withdrawals, 補欠 offers ------------------------------


async def set_booth(application_id: int, number: str) -> MarketApplication:
    # Full-width and half-width alike (「Ａ－１」 is 「A-1」), so a duplicate is one.
    number = unicodedata.normalize("NFKC", number).strip().replace("－", "-")
    if len(number) > BOOTH_NUMBER_MAX:
        raise BadValue(f"ブース番号は{BOOTH_NUMBER_MAX}文字以内にしてください。")
    application = await _any(application_id)
    if application.status != ApplicationStatus.ACCEPTED:
        raise NotDecidable("ブース番号は採択された出店者にだけ付けられます。")
    if (
        number
        and await MarketApplication.filter(
            market_id=application.market_id,
            booth_number=number,
            status=ApplicationStatus.ACCEPTED,
        )
        .exclude(id=application.id)
        .exists()
    ):
        raise BoothTaken(f"ブース番号「{number}」は、すでにほかの出店者に付いています。")
    await MarketApplication.filter(id=application.id).update(booth_number=number)
    application.booth_number = number
    return application


async def set_fee_paid(application_id: int, paid: bool) -> MarketApplication:
    application = await _any(application_id)
    if application.status != ApplicationStatus.ACCEPTED:
        raise NotDecidable("出店料は採択された出店者にだけ記録できます。")
    await MarketApplication.filter(id=application.id).update(
        fee_paid=paid, fee_paid_at=now() if paid else None
    )
    await application.refresh_from_db()
    return application


async def withdraw_by_staff(application_id: int, reason: str, settings: Settings) -> Outcome:
    """Staff record an artist's withdrawal (e.g. by phone): a booth they held goes to the
    first 補欠."""
    application = await _any(application_id)
    if application.status not in (*HOLDING, ApplicationStatus.RESERVE, *EDITABLE):
        raise NotEditable("このお申し込みは取り下げにできません。")
    return await _withdraw(application, reason.strip(), settings)


async def reserves(market_id: int) -> list[MarketApplication]:
    """The 補欠 in their order (the order staff decided them), offers included."""
    return (
        await MarketApplication.filter(
            market_id=market_id,
            status__in=(ApplicationStatus.RESERVE, ApplicationStatus.OFFERED),
        )
        .select_related("resident")
        .order_by("decided_at", "id")
    )


async def fill(market_id: int, settings: Settings, at: datetime | None = None) -> Outcome:
    """Offer the market's free booths to the 補欠 (after the results only: before them,
    staff decide directly). Nothing during the overnight pause."""
    at = at or now()
    outcome = Outcome()
    if is_quiet(settings, at):
        return outcome
    market = await _locked_market(market_id)
    if market is None or market.status != MarketStatus.RESULTS_SENT or market.starts_at <= at:
        return outcome
    deadline = min(offer_deadline(settings, at, settings.market_offer_hours), market.starts_at)
    while market.booths - market.booths_taken > 0:
        left = market.booths - market.booths_taken
        candidates = (
            await MarketApplication.filter(
                market_id=market_id,
                status=ApplicationStatus.RESERVE,
                result_notified_at__isnull=False,  # only 補欠 who know they are one
                booths_requested__lte=left,
            )
            .order_by("decided_at", "id")
            .limit(1)
            .select_related("resident", "market")
        )
        if not candidates:
            break
        first = candidates[0]
        if not await _take_booths(market_id, first.booths_requested):
            break
        won = await MarketApplication.filter(id=first.id, status=ApplicationStatus.RESERVE).update(
            status=ApplicationStatus.OFFERED, offered_at=at, offer_expires_at=deadline
        )
        if won != 1:
            await _free_booths(market_id, first.booths_requested)
            continue
        first.status = ApplicationStatus.OFFERED
        first.offered_at, first.offer_expires_at = at, deadline
        outcome.offers.append(first)
        await market.refresh_from_db()
    return outcome


async def run_offers(settings: Settings) -> Outcome:
    """The worker's round: expire 補欠 offers past their deadline, then offer free booths."""
    at = now()
    outcome = Outcome()
    due = await MarketApplication.filter(
        status=ApplicationStatus.OFFERED, offer_expires_at__lte=at
    ).select_related("resident", "market")
    for application in due:
        await _locked_market(application.market_id)
        expired = await MarketApplication.filter(
            id=application.id, status=ApplicationStatus.OFFERED
        ).update(status=ApplicationStatus.EXPIRED)
        if expired == 1:
            await _free_booths(application.market_id, application.booths_requested)
            application.status = ApplicationStatus.EXPIRED
            outcome.expired.append(application)
    if is_quiet(settings, at):
        return outcome
    markets = await Market.filter(
        status=MarketStatus.RESULTS_SENT,
        starts_at__gt=at,
        booths_taken__lt=F("booths"),
    ).values_list("id", flat=True)
    for market_id in markets:
        outcome.merge(await fill(int(market_id), settings, at))  # type: ignore[call-overload]
    return outcome


# -- staff: the market itself -------------------------------------------------------------


@dataclass(frozen=True)
class MarketSpec:
    name: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    applications_open_at: datetime
    applications_close_at: datetime
    booths: int
    booth_fee: int = 0
    fee_due_on: date | None = None
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    photos_min: int = 1
    photos_max: int = 3
    allow_two_booths: bool = False
    notes: str = ""

    @classmethod
    def of(cls, market: Market) -> MarketSpec:
        return cls(
            name=market.name,
            starts_at=market.starts_at,
            ends_at=market.ends_at,
            venue=market.venue,
            applications_open_at=market.applications_open_at,
            applications_close_at=market.applications_close_at,
            booths=market.booths,
            booth_fee=market.booth_fee,
            fee_due_on=market.fee_due_on,
            categories=tuple(categories_of(market)),
            photos_min=market.photos_min,
            photos_max=market.photos_max,
            allow_two_booths=market.allow_two_booths,
            notes=market.notes,
        )


NAME_MAX = 100
VENUE_MAX = 200
NOTES_MAX = 2000
FEE_MAX = 1_000_000


def market_problems(spec: MarketSpec, market: Market | None = None) -> list[str]:
    """What is wrong with a market's values (Japanese); [] when fine."""
    problems = []
    if not spec.name.strip():
        problems.append("マーケット名を入力してください。")
    elif len(spec.name.strip()) > NAME_MAX:
        problems.append(f"マーケット名は{NAME_MAX}文字以内にしてください。")
    if not spec.venue.strip():
        problems.append("会場を入力してください。")
    elif len(spec.venue.strip()) > VENUE_MAX:
        problems.append(f"会場は{VENUE_MAX}文字以内にしてください。")
    moved = market is None or spec.starts_at != market.starts_at
    if moved and spec.starts_at <= now():
        problems.append("開催日時が過去です。これからの日時を指定してください。")
    if spec.ends_at <= spec.starts_at:
        problems.append("終了時刻は開始時刻より後にしてください。")
    if spec.applications_close_at <= spec.applications_open_at:
        problems.append("申込みの締切は受付開始より後にしてください。")
    if spec.applications_close_at > spec.starts_at:
        problems.append("申込みの締切は開催日より前にしてください。")
    if not 1 <= spec.booths <= MAX_BOOTHS:
        problems.append(f"ブース数は1〜{MAX_BOOTHS}で指定してください。")
    elif market is not None and spec.booths < market.booths_taken:
        problems.append(
            f"ブース数を、採択済みのブース数（{market.booths_taken}）より少なくはできません。"
        )
    if not 0 <= spec.booth_fee <= FEE_MAX:
        problems.append("出店料は0円以上で指定してください。")
    if spec.fee_due_on is not None and spec.fee_due_on > spec.starts_at.astimezone(JST).date():
        problems.append("出店料の支払期限は開催日までにしてください。")
    cats = [c.strip() for c in spec.categories if c.strip()]
    if not cats:
        problems.append("ジャンルを1つ以上入力してください。")
    elif len(cats) > MAX_CATEGORIES:
        problems.append(f"ジャンルは{MAX_CATEGORIES}個までです。")
    elif any(len(c) > CATEGORY_MAX for c in cats):
        problems.append(f"ジャンル名は{CATEGORY_MAX}文字以内にしてください。")
    elif len(set(cats)) != len(cats):
        twice = "、".join(dict.fromkeys(c for c in cats if cats.count(c) > 1))
        problems.append(f"同じジャンル（{twice}）が2回以上入っています。1つにしてください。")
    if not 0 <= spec.photos_min <= spec.photos_max <= MAX_PHOTOS:
        problems.append(f"写真の枚数は、最少 ≤ 最多 ≤ {MAX_PHOTOS} で指定してください。")
    if len(spec.notes) > NOTES_MAX:
        problems.append(f"出店者へのお知らせは{NOTES_MAX}文字以内にしてください。")
    return problems


def _market_fields(spec: MarketSpec) -> dict[str, Any]:
    return {
        "name": spec.name.strip(),
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "venue": spec.venue.strip(),
        "applications_open_at": spec.applications_open_at,
        "applications_close_at": spec.applications_close_at,
        "booths": spec.booths,
        "booth_fee": spec.booth_fee,
        "fee_due_on": spec.fee_due_on,
        "categories": [c.strip() for c in spec.categories if c.strip()],
        "photos_min": spec.photos_min,
        "photos_max": spec.photos_max,
        "allow_two_booths": spec.allow_two_booths,
        "notes": spec.notes.strip(),
    }


async def create_market(spec: MarketSpec) -> Market:
    problems = market_problems(spec)
    if problems:
        raise BadMarket(problems)
    return await Market.create(**_market_fields(spec))


async def update_market(market_id: int, spec: MarketSpec) -> Market:
    """Edit a market; booths never below those taken (checked again by the UPDATE)."""
    market = await _locked_market(market_id)
    if market is None:
        raise MarketNotFound
    problems = market_problems(spec, market)
    if problems:
        raise BadMarket(problems)
    updated = await Market.filter(id=market_id, booths_taken__lte=spec.booths).update(
        **_market_fields(spec)
    )
    if updated != 1:
        await market.refresh_from_db()
        raise BadMarket(market_problems(spec, market) or ["もう一度お試しください。"])
    await market.refresh_from_db()
    return market


async def publish(market_id: int) -> Market:
    market = await _locked_market(market_id)
    if market is None:
        raise MarketNotFound
    if market.status != MarketStatus.DRAFT:
        raise BadMarket(["下書きのマーケットだけ公開できます。"])
    if market.applications_close_at <= now():
        raise BadMarket(["申込みの締切が過ぎています。締切を変更してから公開してください。"])
    await Market.filter(id=market_id, status=MarketStatus.DRAFT).update(
        status=MarketStatus.PUBLISHED
    )
    await market.refresh_from_db()
    return market


async def close(market_id: int) -> Market:
    """締切: no more applications (also before the window's end); drafts stay drafts."""
    market = await _locked_market(market_id)
    if market is None:
        raise MarketNotFound
    if market.status != MarketStatus.PUBLISHED:
        raise BadMarket(["公開中のマーケットだけ締め切れます。"])
    await Market.filter(id=market_id, status=MarketStatus.PUBLISHED).update(
        status=MarketStatus.CLOSED
    )
    await market.refresh_from_db()
    return market
