"""マイページ → プロフィール through LINE: signed webhooks in, the fake platform's messages
out. The card (each field, 未回答, why we ask), editing each kind of field, 移住 and its year
(tapped, typed in full-width digits, refused when not a year), stale and forged buttons,
typed text at a button step, a double tap, 戻る and やめる."""

from __future__ import annotations

import pytest

from models.conversation import ConversationState
from models.outbox import OutboxMessage
from models.residents import Resident
from shima.domain import profiles
from shima.timeutil import JST, now
from tests.line_app import events
from tests.line_app.test_consult_flow import Resident_

PROFILE = "flow=profile"


@pytest.fixture
def resident(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


@pytest.fixture(autouse=True)
async def all_accepted_by_line(db: str):
    yield
    refused = await OutboxMessage.filter(last_error__isnull=False).values_list(
        "last_error", flat=True
    )
    assert not refused, refused


def labels(r: Resident_) -> list[str]:
    return [a["label"] for a in r.actions()]


async def saved(user_id: str = "U1"):
    found = await Resident.get(line_user_id=user_id)
    return await profiles.profile_of(found.id)


async def waiting(user_id: str = "U1") -> ConversationState | None:
    return await ConversationState.get_or_none(line_user_id=user_id)


async def edit(r: Resident_, field_label: str) -> None:
    """From the card: 編集する → the field."""
    await r.tap(PROFILE)
    await r.tap(r.button("編集する"))
    assert "どの項目を編集しますか" in r.text()
    await r.tap(r.button(field_label))


async def test_the_card_shows_every_field_and_why_we_ask(resident: Resident_) -> None:
    await resident.tap("flow=mypage")
    await resident.tap(resident.button("プロフィール"))  # マイページ → プロフィール
    card = resident.text()
    for label in ("職種・スキル", "子育て中", "副業", "フリーランスの収入", "地元／移住"):
        assert label in card
    assert "フリーランスの年収（目安）" in card and "お住まいの地区" in card
    assert card.count("未回答") == 7  # the seven rows; the occupation and the year fold in
    assert "支援の改善と計画の成果確認のため。集計して使います" in card
    # The way back is named: after a save, a 「戻る」 would read as back to the field list.
    assert labels(resident)[-2:] == ["マイページ", "メニュー"] and "戻る" not in labels(resident)
    assert resident.button("マイページ") == "flow=mypage"

    # What the survey filled shows too: その他 with its words, 移住 with its year.
    someone = await Resident.get(line_user_id="U1")
    await profiles.update(
        someone.id,
        {
            "skills": ["writer", "other"],
            "occupation": "翻訳",
            "residency": "migrant",
            "moved_year": 2019,
            "income_band": "60to150",
            "side_job": False,
        },
        profiles.BY_SURVEY,
    )
    await resident.tap(PROFILE)
    card = resident.text()
    assert "ライター、その他（翻訳）" in card and "移住（2019年）" in card
    assert "60〜150万円未満" in card and "いいえ" in card
    assert card.count("未回答") == 3


async def test_yes_no_fields(resident: Resident_) -> None:
    await edit(resident, "子育て中")
    assert "いま、子育てをしていますか？" in resident.text()
    assert labels(resident) == ["はい", "いいえ", "答えない", "戻る", "やめる"]
    await resident.tap(resident.button("はい"))
    assert "「子育て中」を保存しました。" in resident.text()
    profile = await saved()
    assert profile.raising_children is True
    assert profile.filled["raising_children"] == {
        "on": now().astimezone(JST).date().isoformat(),
        "by": profiles.BY_RESIDENT,
    }

    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("副業"))
    await resident.tap(resident.button("いいえ"))
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("フリーランスの収入"))
    await resident.tap(resident.button("はい"))
    # 答えない goes back to not told, and the question said what was saved.
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("子育て中"))
    assert "（いまの登録: はい）" in resident.text()
    await resident.tap(resident.button("答えない"))
    profile = await saved()
    assert (profile.raising_children, profile.side_job, profile.freelance_income) == (
        None,
        False,
        True,
    )


async def test_skills_are_toggles_and_other_asks_what(resident: Resident_) -> None:
    await edit(resident, "職種・スキル")
    assert "いま選んでいるもの: なし" in resident.text()
    assert labels(resident)[0] == "決定"  # first: the eight choices scroll past a phone's width
    await resident.tap(resident.button("ライター"))
    assert "✓ ライター" in labels(resident) and "いま選んでいるもの: ライター" in resident.text()
    await resident.tap(resident.button("Web制作"))
    await resident.say("デザイン")  # a label typed taps its toggle
    assert "いま選んでいるもの: ライター、Web制作、デザイン" in resident.text()
    await resident.tap(resident.button("✓ Web制作"))  # off again
    await resident.tap(resident.button("その他"))
    assert {"✓ ライター", "✓ デザイン", "✓ その他", "プログラミング"} <= set(labels(resident))
    assert (await saved()).skills == []  # nothing is saved before 決定
    await resident.tap(resident.button("決定"))
    assert "「職種・スキル」を保存しました。" in resident.text()
    assert "「その他」のお仕事の内容を教えてください" in resident.text()
    assert (await saved()).skills == ["writer", "design", "other"]
    await resident.say("あ" * 101)
    assert "職種は100文字以内で入力してください。" in resident.text()
    await resident.say("大島紬の　染め")
    assert "ライター、デザイン、その他（大島紬の 染め）" in resident.text()
    profile = await saved()
    assert profile.occupation == "大島紬の 染め" and await waiting() is None

    # Asked again: the words are kept with 変更しない; without その他 nothing is asked.
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("職種・スキル"))
    await resident.tap(resident.button("決定"))
    assert "いまの内容: 大島紬の 染め" in resident.text()
    await resident.tap(resident.button("変更しない"))
    assert "その他（大島紬の 染め）" in resident.text()
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("職種・スキル"))
    await resident.tap(resident.button("✓ その他"))
    await resident.tap(resident.button("決定"))
    assert "「職種・スキル」を保存しました。" in resident.text()
    assert "職種・スキル\nライター、デザイン" in resident.text()
    assert (await saved()).skills == ["writer", "design"]


async def test_income_band_and_district_from_their_lists(resident: Resident_) -> None:
    await edit(resident, "年収の目安")
    assert labels(resident) == [*profiles.INCOME_BANDS.values(), "答えない", "戻る", "やめる"]
    await resident.tap(resident.button("150〜300万円未満"))
    assert "150〜300万円未満" in resident.text()
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("お住まいの地区"))
    assert labels(resident)[:4] == ["名瀬", "住用", "笠利", "市外"]
    await resident.tap(resident.button("笠利"))
    profile = await saved()
    assert (profile.income_band, profile.district) == ("150to300", "kasari")


async def test_migrant_with_a_year_typed_in_full_width(resident: Resident_) -> None:
    await edit(resident, "地元・移住")
    assert labels(resident) == ["地元", "移住", "移住検討中", "答えない", "戻る", "やめる"]
    await resident.tap(resident.button("移住"))
    assert "奄美に移住したのは何年ですか？" in resident.text()
    this_year = now().astimezone(JST).year
    assert labels(resident)[:6] == [f"{y}年" for y in range(this_year, this_year - 6, -1)]
    assert (await saved()).residency == ""  # 移住 is saved with its year
    await resident.say("1800")
    assert "移住した年は1950年から今年までの年で入力してください。" in resident.text()
    await resident.say("去年の春")
    assert "西暦（例: 2019）か和暦（例: 令和元年）で入力してください" in resident.text()
    assert "奄美に移住したのは何年ですか？" in resident.text()  # asked again
    assert (await saved()).residency == ""
    await resident.say("平成30年")  # 和暦 is read as the year it names
    assert "移住（2018年）" in resident.text()
    assert (await saved()).moved_year == 2018
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("地元・移住"))
    await resident.tap(resident.button("移住"))
    await resident.say("２０１９年")
    assert "「地元・移住」を保存しました。" in resident.text()
    assert "移住（2019年）" in resident.text()
    profile = await saved()
    assert (profile.residency, profile.moved_year) == ("migrant", 2019)
    assert await waiting() is None

    # A year's button; 答えない keeps 移住 without a year.
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("地元・移住"))
    assert "（いまの登録: 移住（2019年））" in resident.text()
    await resident.tap(resident.button("移住"))
    await resident.tap(resident.button(f"{this_year - 1}年"))
    assert (await saved()).moved_year == this_year - 1
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("地元・移住"))
    await resident.tap(resident.button("移住"))
    await resident.tap(resident.button("答えない"))
    profile = await saved()
    assert (profile.residency, profile.moved_year) == ("migrant", None)


async def test_leaving_migrant_clears_the_year(resident: Resident_) -> None:
    await edit(resident, "地元・移住")
    await resident.tap(resident.button("移住"))
    await resident.say("2021")
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("地元・移住"))
    await resident.tap(resident.button("移住検討中"))
    assert "移住検討中" in resident.text() and "2021" not in resident.text()
    profile = await saved()
    assert (profile.residency, profile.moved_year) == ("considering", None)
    assert profile.filled["moved_year"]["by"] == profiles.BY_RESIDENT


async def test_back_and_stop(resident: Resident_) -> None:
    await edit(resident, "地元・移住")
    await resident.tap(resident.button("戻る"))
    assert "どの項目を編集しますか" in resident.text()
    await resident.tap(resident.button("戻る"))
    assert "支援の改善と計画の成果確認のため" in resident.text()  # the card
    await resident.tap(resident.button("編集する"))
    await resident.tap(resident.button("地元・移住"))
    await resident.tap(resident.button("移住"))
    await resident.say("戻る")  # typed at the year step
    assert "奄美との関わりを教えてください。" in resident.text()
    await resident.tap(resident.button("移住"))
    await resident.tap(resident.button("やめる"))
    assert "プロフィールの編集をやめました。保存した内容はそのままです。" in resident.text()
    assert await waiting() is None
    await resident.say("2019")  # no longer a year: the desk gets it
    assert (await saved()).residency == ""
    assert "奄美に移住したのは何年ですか" not in resident.text()
    # 「やめる」 typed at the year step stops too.
    await edit(resident, "地元・移住")
    await resident.tap(resident.button("移住"))
    await resident.say("やめる")
    assert "操作を中止しました" in resident.text() and await waiting() is None


async def test_typed_text_at_a_button_step_gets_the_buttons_again(resident: Resident_) -> None:
    await edit(resident, "お住まいの地区")
    await resident.say("よくわかりません")
    assert "ここでは下のボタンからお選びください" in resident.text()
    assert "お住まいの地区を選んでください。" in resident.text()
    assert labels(resident)[:4] == ["名瀬", "住用", "笠利", "市外"]
    await resident.say("名瀬")
    assert "「お住まいの地区」を保存しました。" in resident.text()
    assert (await saved()).district == "naze"


async def test_stale_and_forged_buttons_change_nothing(resident: Resident_) -> None:
    await edit(resident, "お住まいの地区")
    await resident.tap(resident.button("住用"))
    before = await saved()
    for data, answer in (
        ("flow=profile&step=set&f=district&v=tokyo", "お住まいの地区は一覧から選んでください。"),
        ("flow=profile&step=set&f=raising_children&v=maybe", "すみません、そのボタンは"),
        ("flow=profile&step=set&f=filled&v=x", "どの項目を編集しますか"),
        ("flow=profile&step=field&f=updated_at", "どの項目を編集しますか"),
        ("flow=profile&step=set_year&y=99999", "移住した年は1950年から"),
        ("flow=profile&step=skills_ok", "職種・スキルを選んでください"),
        ("flow=profile&step=nonsense", "支援の改善と計画の成果確認のため"),
    ):
        await resident.tap(data)
        assert answer in resident.text(), data
    await resident.tap("flow=profile&step=skills&v=writer,astronaut")  # an older list's code
    assert "いま選んでいるもの: ライター" in resident.text()
    after = await saved()
    assert (after.district, after.residency, after.skills, after.raising_children) == (
        "sumiyo",
        "",
        [],
        None,
    )
    assert after.filled == before.filled

    # A toggle of an earlier message after 決定: it shows that selection, saves nothing.
    await edit(resident, "職種・スキル")
    old_toggle = resident.button("カメラマン")
    await resident.tap(resident.button("SNS運用"))
    await resident.tap(resident.button("決定"))
    await resident.tap(old_toggle)
    assert "いま選んでいるもの: カメラマン" in resident.text()
    assert (await saved()).skills == ["sns"]


async def test_a_double_tap_is_answered_once(resident: Resident_) -> None:
    await edit(resident, "副業")
    yes = resident.button("はい")
    await resident.tap(yes)
    answers = len(resident.fake.delivered("U1"))
    await resident.tap(yes)
    assert len(resident.fake.delivered("U1")) == answers  # saved and answered once already
    assert (await saved()).side_job is True
    # The same button a while later is a tap of its own: answered (the card again).
    later = events.postback("U1", resident.fake.issue_reply_token("U1"), yes)
    later["timestamp"] += 10_000
    await resident.send(later)
    assert len(resident.fake.delivered("U1")) == answers + 1
    assert "「副業」を保存しました。" in resident.text()
