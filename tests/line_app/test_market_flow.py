"""ハンドメイドマーケット through LINE: signed webhooks in, messages at the fake LINE platform
out. Markets are made directly with the models; the rules are shima.domain.market's."""

from __future__ import annotations

import asyncio
import io
import itertools
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from PIL import Image

from line_app import state as conversation_state
from line_app.client import LineClient
from models.conversation import ConversationState
from models.market import (
    ApplicationStatus,
    Market,
    MarketApplication,
    MarketPhoto,
    MarketStatus,
)
from models.outbox import OutboxMessage, OutboxStatus
from shima.domain import market as rules
from shima.settings import Settings
from shima.timeutil import format_date_ja, now
from shima.worker import Worker
from tests.line_app import events
from tests.line_app.test_consult_flow import SECRET, Resident_

NAME = "島のハンドメイドマーケット vol.9"
_ids = itertools.count(900_000_001)


async def make_market(
    *,
    name: str = NAME,
    days_ahead: int = 40,
    opened_days_ago: float = 1,
    closes_in_days: float = 14,
    booths: int = 20,
    fee: int = 2000,
    two_booths: bool = False,
    photos_min: int = 1,
    photos_max: int = 3,
    categories: list[str] | None = None,
    status: MarketStatus = MarketStatus.PUBLISHED,
    notes: str = "搬入は9時から。雨天時は屋内で開催します。",
) -> Market:
    start = now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)
    return await Market.create(
        name=name,
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        venue="AiAiひろば",
        applications_open_at=now() - timedelta(days=opened_days_ago),
        applications_close_at=now() + timedelta(days=closes_in_days),
        booths=booths,
        booth_fee=fee,
        fee_due_on=(start - timedelta(days=7)).date(),
        categories=categories
        or ["アクセサリー", "布小物", "雑貨", "木工", "陶芸", "食品", "その他"],
        photos_min=photos_min,
        photos_max=photos_max,
        allow_two_booths=two_booths,
        notes=notes,
        status=status,
    )


@pytest.fixture
def daytime(settings: Settings) -> Settings:
    """No overnight pause, so a freed booth is offered at once whatever the hour of the run;
    a public address for the thumbnails."""
    return settings.with_overrides(
        offer_quiet_from_hour=0, offer_quiet_until_hour=0, public_url="https://shima.example.jp"
    )


@pytest.fixture
def worker(daytime: Settings, line: LineClient) -> Worker:
    return Worker(daytime, line)


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str):
    """The fake platform validates every message as LINE does: nothing sent was refused."""
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused
    assert not await OutboxMessage.filter(status=OutboxStatus.DEAD).exists()


@pytest.fixture
def artist(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


def person(client, fake_line, worker, user_id: str) -> Resident_:
    return Resident_(client, fake_line, worker, user_id)


def params(data: str) -> dict[str, str]:
    return dict(parse_qsl(data))


def labels(r: Resident_) -> list[str]:
    return [a["label"] for a in r.actions()]


def photo_bytes(colour: tuple[int, int, int] = (30, 120, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, "JPEG")
    return out.getvalue()


async def send_photo(r: Resident_) -> None:
    """A picture sent in the chat at the photo step: fetched from the fake platform's
    content API by the worker (line_app.market_intake) and attached by the flow."""
    message_id = str(next(_ids))
    r.fake.add_content(message_id, photo_bytes())
    message = {"id": message_id, "type": "image", "contentProvider": {"type": "line"}}
    token = r.fake.issue_reply_token(r.user_id)
    await r.send(events._base("message", r.user_id, token, message=message))


async def to_summary(
    r: Resident_,
    *,
    name: str = "夜光貝工房 ゆら",
    category: str = "アクセサリー",
    items: str = "夜光貝のピアスとネックレス（1,500〜4,000円）",
    url: str | None = "https://www.instagram.com/yura_amami",
    booths: int | None = None,
    needs: str = "机・椅子のみ",
) -> str:
    """From the list to the summary; returns the 申し込む button's data."""
    await r.say("マーケット")
    await r.tap(r.button("申し込む"))
    assert "出店者名・屋号を教えてください" in r.text()
    await r.say(name)
    assert "ジャンルを選んでください" in r.text()
    await r.tap(r.button(category))
    assert "販売するものを教えてください" in r.text()
    await r.say(items)
    assert "作品の写真を送ってください" in r.text()
    await send_photo(r)
    assert "1枚目を受け取りました" in r.text()
    await r.tap(r.first_button_with("photos_done"))
    if booths is not None:
        assert "ご希望のブース数を選んでください" in r.text()
        await r.tap(r.button(f"{booths}ブース"))
    assert "机・椅子の貸出と電源は必要ですか" in r.text()
    await r.tap(r.button(needs))
    assert "SNSやネットショップのURL" in r.text()
    if url is None:
        await r.tap(r.button("スキップ"))
    else:
        await r.say(url)
    assert "この内容で申し込みますか" in r.text(), r.text()
    return r.button("申し込む")


async def submitted(r: Resident_, **kwargs) -> MarketApplication:
    await r.tap(await to_summary(r, **kwargs))
    assert "受付完了（審査中）" in r.text()
    return await MarketApplication.get(resident__line_user_id=r.user_id).select_related("market")


# -- the list -----------------------------------------------------------------------------


async def test_the_list_shows_open_markets_and_the_next_one(artist: Resident_) -> None:
    await make_market()
    await make_market(name="下書きのマーケット", status=MarketStatus.DRAFT)
    await make_market(name="締め切ったマーケット", opened_days_ago=20, closes_in_days=-1)
    await make_market(name="春のマーケット", days_ahead=120, opened_days_ago=-30, closes_in_days=60)
    await artist.tap("flow=market")  # the rich menu
    answer = artist.text()
    assert NAME in answer and "AiAiひろば" in answer and "20ブース" in answer
    assert "1ブース 2,000円" in answer and "までにお支払い" in answer
    assert "受付期間" in answer and "搬入は9時から" in answer
    assert "下書きのマーケット" not in answer and "締め切ったマーケット" not in answer
    # The next one, with its window.
    assert "春のマーケット" in answer and "次回のマーケット（受付前）" in answer
    assert "申し込む" in labels(artist)
    for word in ("出店", "ハンドメイド", "ﾏｰｹｯﾄ"):
        await artist.say(word)
        assert NAME in artist.text(), word


async def test_no_open_market_says_when_the_next_window_opens(artist: Resident_) -> None:
    await artist.say("マーケット")
    assert "いま出店申込みを受け付けているハンドメイドマーケットはありません" in artist.text()
    assert "次回の日程が決まりしだい" in artist.text()
    spring = await make_market(
        name="春のマーケット", days_ahead=120, opened_days_ago=-30, closes_in_days=60
    )
    await artist.say("マーケット")
    answer = artist.text()
    assert "ありません" in answer and "春のマーケット" in answer
    assert rules.window_text(spring) in answer
    assert "準備中" not in answer


# -- applying -----------------------------------------------------------------------------


async def test_the_whole_application(artist: Resident_, daytime: Settings) -> None:
    market = await make_market()
    confirm = await to_summary(artist)
    answer = artist.text()
    assert "夜光貝工房 ゆら" in answer and "アクセサリー" in answer and "夜光貝のピアス" in answer
    assert "1枚" in answer and "机・椅子の貸出を希望" in answer
    assert "https://www.instagram.com/yura_amami" in answer
    # The thumbnail LINE fetches: the photos' signed public address.
    photo = await MarketPhoto.get()
    images = [n for n in _walk(artist.last) if n.get("type") == "image"]
    assert [i["url"] for i in images] == [
        f"https://shima.example.jp{rules_thumb_path(daytime, photo.id)}"
    ]
    app = await MarketApplication.get()
    assert app.status == ApplicationStatus.DRAFT and app.step == "confirm"
    await artist.tap(confirm)
    assert "受付完了（審査中）" in artist.text()
    assert artist.fake.delivered("U1")[-1].via == "reply"
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    assert app.artist_name == "夜光貝工房 ゆら" and app.category == "アクセサリー"
    assert app.items.startswith("夜光貝のピアス") and app.booths_requested == 1
    assert app.needs_table and not app.needs_power
    assert app.url == "https://www.instagram.com/yura_amami"
    assert app.request_key == params(confirm)["k"] and app.market_id == market.id
    assert await ConversationState.all().count() == 0


def rules_thumb_path(settings: Settings, photo_id: int) -> str:
    from shima.domain import market_photos

    return market_photos.thumb_url(settings, photo_id).removeprefix(settings.public_base_url)


async def test_two_booths_where_allowed_and_no_url(artist: Resident_) -> None:
    await make_market(two_booths=True)
    await artist.tap(await to_summary(artist, booths=2, url=None, needs="机・椅子と電源"))
    app = await MarketApplication.get()
    assert app.status == ApplicationStatus.SUBMITTED
    assert app.booths_requested == 2 and app.url == "" and app.needs_table and app.needs_power


async def test_each_step_is_saved_and_resumed_days_later(
    artist: Resident_, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    app = await MarketApplication.get()
    assert app.artist_name == "ゆら工房" and app.step == "category"
    await artist.tap(artist.button("木工"))
    await app.refresh_from_db()
    assert app.category == "木工" and app.step == "items"
    # Three days later: the conversation state is long gone, the draft is in the database.
    later = now() + timedelta(days=3)
    monkeypatch.setattr(rules, "now", lambda: later)
    monkeypatch.setattr(conversation_state, "now", lambda: later)
    await artist.say("ハンドメイド")
    assert "入力中（前回の続きから再開できます）" in artist.text()
    assert "入力の途中のお申し込みは「続きから」で再開できます" in artist.text()
    await artist.tap(artist.button("続きから"))
    answer = artist.text()
    assert "出店申込みの続きです" in answer and "販売するものを教えてください" in answer
    await artist.say("島の木のスプーンとお皿")
    await app.refresh_from_db()
    assert app.items == "島の木のスプーンとお皿" and app.step == "photos"
    assert await MarketApplication.all().count() == 1


async def test_back_goes_one_step_back_and_keeps_what_was_entered(artist: Resident_) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.tap(artist.button("陶芸"))
    await artist.tap(artist.button("戻る"))
    assert "ジャンルを選んでください" in artist.text() and "いまの登録: 陶芸" in artist.text()
    await artist.tap(artist.button("戻る"))
    assert "出店者名・屋号を教えてください" in artist.text() and "ゆら工房" in artist.text()
    await artist.tap(artist.button("このまま次へ"))
    assert "ジャンルを選んでください" in artist.text()
    await artist.say("戻る")  # typed at a button step
    assert "出店者名・屋号を教えてください" in artist.text()
    await artist.say("このまま次へ")  # the button's words typed keep the name
    assert "ジャンルを選んでください" in artist.text()
    assert (await MarketApplication.get()).artist_name == "ゆら工房"
    await artist.say("戻る")
    await artist.say("戻る")  # typed at a text step: the list of markets
    assert "出店者を募集中" in artist.text()
    app = await MarketApplication.get()
    assert app.artist_name == "ゆら工房" and app.category == "陶芸"


async def test_stop_keeps_the_draft_and_says_so(artist: Resident_) -> None:
    market = await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.tap(artist.button("やめる"))
    assert "ここまでの内容は保存してあります" in artist.text()
    closes = format_date_ja(market.applications_close_at)
    assert f"続きは{closes}" in artist.text() and "の締切までに" in artist.text()
    assert "「ハンドメイドマーケット」から" in artist.text()  # the rich menu's tile
    app = await MarketApplication.get()
    assert app.status == ApplicationStatus.DRAFT and app.artist_name == "ゆら工房"
    await artist.say("やめる")  # typed, outside any step: the menu's 中止
    assert "中止しました" in artist.text()


async def test_typed_text_at_button_steps_gets_the_buttons_again(artist: Resident_) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.say("よくわかりません")
    answer = artist.text()
    assert "下のボタンからお選びください" in answer and "ジャンルを選んでください" in answer
    assert "アクセサリー" in labels(artist)
    assert (await MarketApplication.get()).category == ""
    await artist.say("布小物でお願いします")  # a label and a polite ending taps it
    assert "販売するものを教えてください" in artist.text()
    assert (await MarketApplication.get()).category == "布小物"


async def test_typed_text_at_the_photo_step_asks_for_pictures(artist: Resident_) -> None:
    await make_market(photos_min=2)
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.tap(artist.button("雑貨"))
    await artist.say("島の布で作った小物")
    await artist.say("写真はあとで送ります")
    assert "作品の写真を画像で受け付けています" in artist.text()
    await artist.say("次へ")
    assert "あと2枚送ってください" in artist.text()
    assert (await MarketApplication.get()).step == "photos"


async def test_a_bad_url_is_asked_again(artist: Resident_) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.tap(artist.button("雑貨"))
    await artist.say("島の布で作った小物")
    await send_photo(artist)
    await artist.tap(artist.first_button_with("photos_done"))
    await artist.tap(artist.button("どちらも不要"))
    await artist.say("インスタやってます")
    assert "URLの形式が正しくないようです" in artist.text()
    assert (await MarketApplication.get()).step == "url"
    answer = artist.text()
    assert answer.count("スキップ") == 1  # the error says it; the question does not again
    await artist.say("＠ｙｕｒａ．ａｍａｍｉ")  # typed full width on a Japanese keyboard
    assert "この内容で申し込みますか" in artist.text()
    assert (await MarketApplication.get()).url == "https://www.instagram.com/yura.amami"


async def test_a_name_too_long_is_asked_again(artist: Resident_) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("あ" * 51)
    assert "50文字以内" in artist.text() and "出店者名・屋号を教えてください" in artist.text()
    assert (await MarketApplication.get()).artist_name == ""


async def test_many_genres_are_a_card_of_buttons(artist: Resident_) -> None:
    genres = [f"ジャンル{i}" for i in range(1, 16)]
    await make_market(categories=genres)
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    assert set(genres) <= set(labels(artist))
    await artist.say("ジャンル15")  # typed: the card's button it names
    assert "販売するものを教えてください" in artist.text()
    assert (await MarketApplication.get()).category == "ジャンル15"


async def test_fixing_a_draft_from_the_summary_comes_back_to_it(artist: Resident_) -> None:
    await make_market()
    await to_summary(artist)
    await artist.tap(artist.button("修正する"))
    await artist.tap(artist.button("ジャンル"))
    assert "いまの登録: アクセサリー" in artist.text()
    await artist.tap(artist.button("陶芸"))
    assert "この内容で申し込みますか" in artist.text() and "陶芸" in artist.text()
    await artist.tap(artist.button("修正する"))
    await artist.tap(artist.button("出店者名・屋号"))
    await artist.tap(artist.button("変更しない"))
    assert "この内容で申し込みますか" in artist.text()
    await artist.tap(artist.button("申し込む"))
    app = await MarketApplication.get()
    assert app.status == ApplicationStatus.SUBMITTED and app.category == "陶芸"
    assert app.artist_name == "夜光貝工房 ゆら"


async def test_an_unsent_photo_is_missing_at_submit(artist: Resident_) -> None:
    await make_market()
    confirm = await to_summary(artist)
    photo = await MarketPhoto.get()
    await artist.send(
        events._base("unsend", "U1", None, unsend={"messageId": photo.line_message_id})
    )
    assert await MarketPhoto.all().count() == 0
    await artist.tap(confirm)
    answer = artist.text()
    assert "まだ入力されていない項目があります" in answer and "作品の写真（あと1枚）" in answer
    assert (await MarketApplication.get()).status == ApplicationStatus.DRAFT
    await artist.tap(artist.button("続きを入力"))
    assert "作品の写真を送ってください" in artist.text()
    await send_photo(artist)
    await artist.tap(artist.first_button_with("photos_done"))
    assert "机・椅子の貸出と電源は必要ですか" in artist.text()


async def test_resumed_at_the_photo_step_from_mypage(artist: Resident_) -> None:
    await make_market(photos_min=2)
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    await artist.tap(artist.button("陶芸"))
    await artist.say("島の土の器")
    await send_photo(artist)
    assert "あと1枚以上送ってください" in artist.text()
    await artist.tap(artist.button("やめる"))
    assert "ここまでの内容は保存してあります" in artist.text()
    await artist.say("マイページ")
    assert "入力中（販売するものまで入力済み）" in artist.text()
    await artist.tap(artist.button("続きから"))
    assert "いま1枚受け取っています" in artist.text()
    await send_photo(artist)
    assert "2枚目を受け取りました" in artist.text()
    await artist.tap(artist.first_button_with("photos_done"))
    assert "机・椅子の貸出と電源は必要ですか" in artist.text()
    assert await MarketPhoto.filter(application_id__isnull=False).count() == 2


async def test_applying_twice_keeps_one_application(artist: Resident_) -> None:
    market = await make_market()
    await submitted(artist)
    await artist.tap(f"flow=market&step=pick&m={market.id}")  # an old 申し込む button
    assert "すでにお申し込みいただいています" in artist.text()
    assert "審査中" in artist.text()
    await artist.say("マーケット")
    assert "お申し込み済み（審査中）" in artist.text()
    assert "申込み内容を見る" in labels(artist) and "申し込む" not in labels(artist)
    assert await MarketApplication.all().count() == 1


async def test_double_submit_answers_once(artist: Resident_) -> None:
    await make_market()
    confirm = await to_summary(artist)
    before = len(artist.fake.delivered("U1"))
    taps = [events.postback("U1", artist.fake.issue_reply_token("U1"), confirm) for _ in range(5)]
    responses = await asyncio.gather(*(events.post(artist.client, SECRET, t) for t in taps))
    assert all(r.status_code == 200 for r in responses)
    await artist.worker.drain()
    await artist.worker.drain()
    new = artist.fake.delivered("U1")[before:]
    assert len(new) == 1 and "受付完了（審査中）" in str(new[0].messages)
    app = await MarketApplication.get()
    assert app.status == ApplicationStatus.SUBMITTED
    # The same button much later: told, not silent, nothing changes.
    await MarketApplication.filter(id=app.id).update(submitted_at=now() - timedelta(minutes=1))
    await artist.tap(confirm)
    assert "すでに受け付けています" in artist.text()
    assert await MarketApplication.all().count() == 1


async def test_after_the_window_nothing_is_submitted(artist: Resident_) -> None:
    market = await make_market()
    confirm = await to_summary(artist)
    await Market.filter(id=market.id).update(applications_close_at=now() - timedelta(minutes=1))
    await artist.tap(confirm)
    market = await Market.get(id=market.id)
    assert "締め切りました" in artist.text() and rules.window_text(market) in artist.text()
    assert (await MarketApplication.get()).status == ApplicationStatus.DRAFT
    # A step of the draft after the window: the same clear answer, nothing saved.
    app = await MarketApplication.get()
    await artist.tap(f"flow=market&step=needs&a={app.id}&t=1&p=1")
    assert "締め切りました" in artist.text()
    await app.refresh_from_db()
    assert not app.needs_power
    # A market closed before the resident ever applied.
    await artist.tap(f"flow=market&step=pick&m={market.id}")
    assert "締め切りました" in artist.text()


async def test_a_window_not_open_yet_gives_its_dates(artist: Resident_) -> None:
    later = await make_market(opened_days_ago=-5)
    await artist.tap(f"flow=market&step=pick&m={later.id}")
    assert "に受け付けます" in artist.text() and rules.window_text(later) in artist.text()
    assert await MarketApplication.all().count() == 0


# -- マイページ: edit, withdraw -------------------------------------------------------------


async def test_mypage_shows_the_application_and_edits_it_before_the_close(
    artist: Resident_,
) -> None:
    await make_market()
    app = await submitted(artist)
    await artist.say("マイページ")
    answer = artist.text()
    assert NAME in answer and "審査中" in answer and "夜光貝工房 ゆら" in answer
    assert {"内容を見る", "修正する", "取り下げる"} <= set(labels(artist))
    await artist.tap(artist.button("内容を見る"))
    assert "お申し込み内容（審査中）" in artist.text()
    await artist.tap(artist.button("修正する"))
    assert "どの項目を修正しますか" in artist.text()
    await artist.tap(artist.button("販売するもの"))
    assert "いまの内容: 夜光貝のピアス" in artist.text()
    await artist.say("夜光貝と貝殻のアクセサリー")
    assert "内容を更新しました" in artist.text() and "お申し込み内容（審査中）" in artist.text()
    await app.refresh_from_db()
    assert app.items == "夜光貝と貝殻のアクセサリー"
    assert app.status == ApplicationStatus.SUBMITTED


async def test_no_editing_after_the_close(artist: Resident_) -> None:
    market = await make_market()
    app = await submitted(artist)
    await Market.filter(id=market.id).update(applications_close_at=now() - timedelta(minutes=1))
    await artist.say("マイページ")
    assert "修正する" not in labels(artist) and "取り下げる" not in labels(artist)
    for data in (
        f"flow=market&step=edit&a={app.id}",
        f"flow=market&step=ask&a={app.id}&q=name&e=1",
        f"flow=market&step=cat&a={app.id}&v=2&e=1",
    ):
        await artist.tap(data)
        assert "締め切りました" in artist.text(), data
    await artist.tap(f"flow=market&step=withdraw_yes&a={app.id}")
    assert "締め切りました" in artist.text()
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED and app.category == "アクセサリー"


async def test_withdrawing_with_confirmation(artist: Resident_) -> None:
    market = await make_market()
    app = await submitted(artist)
    await artist.say("マイページ")
    await artist.tap(artist.button("取り下げる"))
    assert "取り下げますか" in artist.text()
    await artist.tap(artist.button("やめておく"))
    assert "取り下げはしていません" in artist.text()
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    await artist.say("マイページ")
    await artist.tap(artist.button("取り下げる"))
    await artist.tap(artist.button("取り下げる"))
    assert "取り下げました" in artist.text()
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.WITHDRAWN
    await artist.tap(f"flow=market&step=withdraw_yes&a={app.id}")
    assert "すでに取り下げられています" in artist.text()
    # The window is still open: they may apply again (the same row starts again).
    await artist.tap(f"flow=market&step=pick&m={market.id}")
    assert "出店者名・屋号を教えてください" in artist.text()
    assert await MarketApplication.all().count() == 1


async def test_photos_sent_again_after_submitting_and_left_short_are_pointed_out(
    artist: Resident_,
) -> None:
    await make_market()
    app = await submitted(artist)
    await artist.say("マイページ")
    await artist.tap(artist.button("修正する"))
    await artist.tap(artist.button("作品の写真"))
    await artist.tap(artist.button("写真を送り直す"))
    await artist.tap(artist.button("送り直す"))
    assert "写真を削除しました" in artist.text()
    await artist.tap(artist.button("やめる"))
    answer = artist.text()
    assert "受け付け済みです（審査中）" in answer
    assert "作品の写真（あと1枚）が足りません" in answer and "「修正する」" in answer
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED


async def test_returned_fixed_and_resubmitted(artist: Resident_) -> None:
    market = await make_market()
    app = await submitted(artist)
    await rules.send_back(app.id, "作品全体がわかる写真をもう1枚お願いします。", staff_id=1)
    # The window closes: a 差し戻し may still be fixed.
    await Market.filter(id=market.id).update(applications_close_at=now() - timedelta(minutes=1))
    await artist.say("マイページ")
    answer = artist.text()
    assert "差し戻し" in answer and "作品全体がわかる写真をもう1枚" in answer
    await artist.tap(artist.button("修正して再提出"))
    assert "どの項目を修正しますか" in artist.text() and "作品全体がわかる写真" in artist.text()
    await artist.tap(artist.button("出店者名・屋号"))
    await artist.say("夜光貝工房 YURA")
    assert "この内容で再提出しますか" in artist.text()
    await artist.tap(artist.button("再提出する"))
    answer = artist.text()
    assert "再提出を受け付けました（審査中）" in answer
    # The window has closed: no deadline already past is given, nor edits promised.
    assert "締切" not in answer and "修正や取り下げができます" not in answer
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED and app.artist_name == "夜光貝工房 YURA"


# -- 補欠 offers --------------------------------------------------------------------------


async def results_sent(market: Market, accepted: Resident_, reserve: Resident_) -> tuple:
    """`accepted` is 採択 (holding the last booth), `reserve` 補欠; the results were sent."""
    a = await submitted(accepted)
    b = await submitted(reserve)
    await Market.filter(id=market.id).update(applications_close_at=now() - timedelta(minutes=1))
    await rules.decide(a.id, ApplicationStatus.ACCEPTED, staff_id=1)
    await rules.decide(b.id, ApplicationStatus.RESERVE, staff_id=1)
    await rules.claim_results(market.id)
    return a, b


async def test_an_accepted_artist_withdraws_and_the_reserve_accepts_the_offer(
    artist: Resident_, client, fake_line, worker
) -> None:
    market = await make_market(booths=1)
    other = person(client, fake_line, worker, "U2")
    taken, mine = await results_sent(market, other, artist)
    await MarketApplication.filter(id=taken.id).update(booth_number="A-3")
    await other.say("マイページ")
    assert (
        "採択" in other.text()
        and "A-3" in other.text()
        and "までにお支払いください" in other.text()
    )
    await other.tap(f"flow=market&step=withdraw&a={taken.id}")
    assert "ブースは補欠の方にお譲りします" in other.text()
    await other.tap(other.button("取り下げる"))
    assert "取り下げました" in other.text()
    await mine.refresh_from_db()
    assert mine.status == ApplicationStatus.OFFERED
    assert await OutboxMessage.filter(kind="market_offer", line_user_id="U1").count() == 1
    await artist.worker.drain()
    await artist.say("マイページ")
    assert "繰り上げ案内中" in artist.text() and "お返事" in artist.text()
    await artist.tap(artist.button("出店する"))
    assert "出店が決まりました" in artist.text()
    await mine.refresh_from_db()
    assert mine.status == ApplicationStatus.ACCEPTED
    await MarketApplication.filter(id=mine.id).update(decided_at=now() - timedelta(minutes=1))
    await artist.tap(f"flow=market&step=offer_yes&a={mine.id}")
    assert "すでに決まっています" in artist.text()
    assert (await Market.get(id=market.id)).booths_taken == 1


async def test_declining_an_offer(artist: Resident_, client, fake_line, worker) -> None:
    market = await make_market(booths=1)
    other = person(client, fake_line, worker, "U2")
    taken, mine = await results_sent(market, other, artist)
    await artist.say("マイページ")
    assert "補欠" in artist.text() and "順番にこのLINEでご案内します" in artist.text()
    await other.tap(f"flow=market&step=withdraw_yes&a={taken.id}")
    await artist.tap(f"flow=market&step=offer_no&a={mine.id}")
    assert "辞退しました" in artist.text()
    await mine.refresh_from_db()
    assert mine.status == ApplicationStatus.DECLINED
    assert (await Market.get(id=market.id)).booths_taken == 0
    await artist.tap(f"flow=market&step=offer_yes&a={mine.id}")
    assert "すでに辞退されています" in artist.text()
    await mine.refresh_from_db()
    assert mine.status == ApplicationStatus.DECLINED


async def test_an_expired_offer_is_told(artist: Resident_, client, fake_line, worker) -> None:
    market = await make_market(booths=1)
    other = person(client, fake_line, worker, "U2")
    taken, mine = await results_sent(market, other, artist)
    await other.tap(f"flow=market&step=withdraw_yes&a={taken.id}")
    await MarketApplication.filter(id=mine.id).update(offer_expires_at=now() - timedelta(minutes=1))
    await artist.tap(f"flow=market&step=offer_yes&a={mine.id}")
    assert "期限が過ぎたか" in artist.text()
    await mine.refresh_from_db()
    assert mine.status == ApplicationStatus.OFFERED  # the worker's round expires it


# -- stale and forged buttons -------------------------------------------------------------


async def test_forged_application_ids_change_nothing(
    artist: Resident_, client, fake_line, worker
) -> None:
    await make_market()
    app = await submitted(artist)
    intruder = person(client, fake_line, worker, "U666")
    for data in (
        f"flow=market&step=view&a={app.id}",
        f"flow=market&step=edit&a={app.id}",
        f"flow=market&step=ask&a={app.id}&q=name&e=1",
        f"flow=market&step=cat&a={app.id}&v=3&e=1",
        f"flow=market&step=needs&a={app.id}&t=1&p=1",
        f"flow=market&step=nourl&a={app.id}",
        f"flow=market&step=photos_done&a={app.id}",
        f"flow=market&step=submit&a={app.id}&k={app.request_key}",
        f"flow=market&step=withdraw&a={app.id}",
        f"flow=market&step=withdraw_yes&a={app.id}",
        f"flow=market&step=offer_yes&a={app.id}",
        f"flow=market&step=offer_no&a={app.id}",
        f"flow=cancel&of=market&a={app.id}",
    ):
        await intruder.tap(data)
        answer = intruder.text()
        assert "見つかりませんでした" in answer or "中止しました" in answer, data
        assert "夜光貝" not in answer, data
    await app.refresh_from_db()
    assert app.status == ApplicationStatus.SUBMITTED
    assert app.category == "アクセサリー" and not app.needs_power and app.url
    assert await MarketApplication.all().count() == 1


@pytest.mark.parametrize("value", ["9" * 30, "abc", "", "0"])
async def test_bad_ids_are_a_stale_button(artist: Resident_, value: str) -> None:
    await make_market()
    for data in (
        f"flow=market&step=pick&m={value}",
        f"flow=market&step=view&a={value}",
        f"flow=market&step=cat&a={value}&v={value}",
        f"flow=market&step=submit&a={value}&k=abc",
        f"flow=market&step=offer_yes&a={value}",
    ):
        await artist.tap(data)
        assert artist.text(), data
    assert await MarketApplication.all().count() == 0


async def test_a_bad_category_index_asks_again(artist: Resident_) -> None:
    await make_market()
    await artist.say("マーケット")
    await artist.tap(artist.button("申し込む"))
    await artist.say("ゆら工房")
    app = await MarketApplication.get()
    await artist.tap(f"flow=market&step=cat&a={app.id}&v=99")
    assert "ジャンルを選んでください" in artist.text()
    await app.refresh_from_db()
    assert app.category == ""


def _walk(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found
