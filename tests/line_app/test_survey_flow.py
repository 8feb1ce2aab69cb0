"""アンケート through LINE: signed webhooks in, messages at the fake LINE platform out. The
standard 満足度調査 answered whole (both branches of its conditional questions), スキップ,
戻る, typed answers, resuming days later, 回答し直す with its confirmation, a closed survey,
stale buttons and double taps, several open surveys, マイページ, and the one reminder push.

Rounds are made directly with the models; the rules are shima.domain.survey_responses'."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

from line_app import state as conversation_state
from line_app.flows import survey as flow
from models.outbox import OutboxMessage, OutboxStatus
from models.profiles import ResidentProfile
from models.survey import (
    QuestionKind,
    ResponseStatus,
    Survey,
    SurveyAnswer,
    SurveyResponse,
    SurveyRound,
)
from shima.domain import survey_responses as rules
from shima.domain.survey_standard import standard_survey
from shima.domain.surveys import QuestionSpec, SurveySpec, create_survey
from shima.settings import Settings
from shima.timeutil import now, to_jst
from shima.worker import Worker
from tests.line_app import events
from tests.line_app.test_consult_flow import SECRET, Resident_
from tests.line_app.test_course_offers import button_data, pushes, shown

THANKS = "ご回答ありがとうございました。いただいた声を、これからの支援に活かします。"


async def make_round(
    survey: Survey | None = None,
    *,
    title: str = "2026年度",
    opened_days_ago: float = 1,
    closes_in_days: float = 30,
) -> SurveyRound:
    return await SurveyRound.create(
        survey=survey or await standard_survey(),
        title=title,
        opens_at=now() - timedelta(days=opened_days_ago),
        closes_at=now() + timedelta(days=closes_in_days),
    )


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
def hanako(client, fake_line, worker) -> Resident_:
    fake_line.add_user("U1", "奄美 花子")
    return Resident_(client, fake_line, worker, "U1")


def labels(r: Resident_) -> list[str]:
    return [a["label"] for a in r.actions()]


def quick_labels(r: Resident_) -> list[str]:
    return [i["action"]["label"] for i in r.last[-1].get("quickReply", {}).get("items", [])]


def params(data: str) -> dict[str, str]:
    return dict(parse_qsl(data))


async def response() -> SurveyResponse:
    return await SurveyResponse.get()


async def answers() -> dict[int, SurveyAnswer]:
    """The stored answers by question position."""
    rows = await SurveyAnswer.all().select_related("question")
    return {a.question.position: a for a in rows}


async def start(r: Resident_) -> None:
    await r.say("アンケート")
    assert "島フリーランス幸せ（ワークライフ）満足度調査" in r.text()
    await r.tap(r.button("始める"))


async def tap_through(r: Resident_, taps: list[str]) -> None:
    for label in taps:
        await r.tap(r.button(label))


# The first ten answers of a 移住 freelancer with income (Q7 and Q11 asked).
MIGRANT_TAPS = ["4", "5", "4", "8", "7", "はい", "60〜150万円未満", "はい", "いいえ", "移住"]


# -- the whole survey ---------------------------------------------------------------------


async def test_the_whole_standard_survey_with_its_conditional_questions(hanako: Resident_) -> None:
    await make_round()
    await hanako.say("アンケート")
    intro = hanako.text()
    assert "島フリーランス幸せ（ワークライフ）満足度調査" in intro
    assert "最大13問" in intro and "回答期限" in intro and "途中でやめても" in intro
    assert labels(hanako)[0] == "始める"
    await hanako.tap(hanako.button("始める"))
    first = hanako.text()
    assert "【1/13】フリーランスとしての「仕事」に" in first and "1（とても不満）" in first
    assert quick_labels(hanako) == ["1", "2", "3", "4", "5", "やめる"]  # no 戻る on the first
    assert hanako.last[-1]["quickReply"]["items"][4]["action"]["displayText"] == "5（とても満足）"
    await tap_through(hanako, MIGRANT_TAPS[:3])
    assert "【4/13】現在、あなたはどの程度幸せですか？" in hanako.text()
    assert quick_labels(hanako) == [str(n) for n in range(11)] + ["戻る", "やめる"]
    await tap_through(hanako, MIGRANT_TAPS[3:6])
    assert "【7/13】（任意）フリーランスの仕事の年収" in hanako.text()
    assert quick_labels(hanako)[-3:] == ["戻る", "スキップ", "やめる"]
    await tap_through(hanako, MIGRANT_TAPS[6:])
    year = hanako.text()
    assert (
        "【11/13】奄美に移住したのは何年ですか" in year
        and "年を入力して送ってください（和暦でも構いません）" in year
    )
    this_year = to_jst(now()).year
    assert quick_labels(hanako)[:2] == [f"{this_year}年", f"{this_year - 1}年"]
    await hanako.say("２０２１年")  # typed, full width
    assert "【12/13】お仕事の職種・スキル" in hanako.text() and "選択中: なし" in hanako.text()
    assert "決定" not in quick_labels(hanako)
    await hanako.tap(hanako.button("Web制作"))
    await hanako.tap(hanako.button("ライター"))
    assert "選択中: ✓ライター、✓Web制作" in hanako.text()
    assert quick_labels(hanako)[:2] == ["決定", "✓ライター"]  # 決定 first once one is picked
    await hanako.tap(hanako.button("✓Web制作"))  # tapped again: unpicked
    assert "選択中: ✓ライター" in hanako.text() and "✓Web制作" not in hanako.text()
    await hanako.tap(hanako.button("デザイン"))
    await hanako.tap(hanako.button("決定"))
    assert "【13/13】（任意）島での働き方" in hanako.text()
    await hanako.say("子育てしながら働ける場所がもっと欲しいです。")
    end = hanako.text()
    assert THANKS in end and "プロフィールにも反映しました" in end
    assert labels(hanako) == ["プロフィール", "マイページ", "メニュー"]
    await hanako.tap(hanako.button("プロフィール"))  # what the answers filled, one tap away
    assert "移住（2021年）" in hanako.text() and "ライター、デザイン" in hanako.text()

    saved = await answers()
    assert sorted(saved) == list(range(1, 14))
    assert saved[4].number == 8 and saved[6].number == 1 and saved[7].text == "60to150"
    assert saved[11].number == 2021 and saved[12].values == ["writer", "design"]
    assert saved[13].text == "子育てしながら働ける場所がもっと欲しいです。"
    done = await response()
    assert done.status == ResponseStatus.COMPLETED and done.completed_at is not None
    profile = await ResidentProfile.get(resident__line_user_id="U1")
    assert profile.residency == "migrant" and profile.moved_year == 2021
    assert profile.skills == ["writer", "design"] and profile.freelance_income is True
    assert profile.filled["skills"]["by"] == "survey"


async def test_the_other_branch_with_skip_back_and_typed_answers(hanako: Resident_) -> None:
    await make_round()
    await start(hanako)
    await tap_through(hanako, ["3", "3", "3", "5", "5", "いいえ"])
    assert "【8/13】いま、子育てをしていますか？" in hanako.text()  # no income band
    await hanako.tap(hanako.button("戻る"))
    assert "【6/13】" in hanako.text() and "（いまの回答: いいえ）" in hanako.text()
    await hanako.tap(hanako.button("いいえ"))
    await hanako.say("はい")  # a button's label typed taps it
    assert "【9/13】" in hanako.text()
    await hanako.say("どちらかといえば")  # anything else: the question again
    assert "ここでは下のボタンからお選びください" in hanako.text() and "【9/13】" in hanako.text()
    await hanako.tap(hanako.button("はい"))
    await hanako.tap(hanako.button("地元"))
    assert "【12/13】" in hanako.text()  # no moved year
    await hanako.tap(hanako.button("戻る"))
    assert "【10/13】" in hanako.text() and "（いまの回答: 地元）" in hanako.text()
    await hanako.tap(hanako.button("移住"))
    assert "【11/13】" in hanako.text()
    await hanako.say("1949")
    assert "1950年から" in hanako.text() and "【11/13】" in hanako.text()  # asked again
    await hanako.say("戻る")  # typed at a typed question
    assert "【10/13】" in hanako.text()
    await hanako.tap(hanako.button("地元"))
    assert "【12/13】" in hanako.text()
    await hanako.tap(hanako.button("SNS運用"))
    await hanako.tap(hanako.button("決定"))
    await hanako.say("特になし")  # nothing to say at the optional comment: a skip
    assert THANKS in hanako.text()
    saved = await answers()
    assert sorted(saved) == [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 13]
    assert saved[10].text == "local" and saved[13].skipped
    assert saved[8].number == 1 and saved[9].number == 1


async def test_typed_answers_as_residents_write_them(hanako: Resident_) -> None:
    """Something typed that is no answer gets the bare question again (not the lead said
    when it was first asked); a year in kanji digits or 和暦 is read; a picked choice's
    label typed unpicks it."""
    await make_round()
    await start(hanako)
    assert "ありがとうございます。では、始めます。" in hanako.text()
    await hanako.say("よくわからない")
    again = hanako.text()
    assert again.startswith("すみません、ここでは下のボタンからお選びください。\n【1/13】")
    assert "では、始めます" not in again
    await tap_through(hanako, MIGRANT_TAPS)
    await hanako.say("２１００")
    assert f"1950年から{to_jst(now()).year}年までの年を入力してください" in hanako.text()
    await hanako.say("きょねん")
    assert "西暦（例: 2024）か和暦（例: 令和6年）で入力してください" in hanako.text()
    assert "【11/13】" in hanako.text() and 11 not in await answers()
    await hanako.say("二〇二〇")
    assert "【12/13】" in hanako.text() and (await answers())[11].number == 2020
    await hanako.tap(hanako.button("戻る"))
    assert "（いまの回答: 2020年）" in hanako.text()
    await hanako.say("令和元年")
    assert (await answers())[11].number == 2019
    await hanako.say("ライター")
    await hanako.say("カメラマン")
    assert "選択中: ✓ライター、✓カメラマン" in hanako.text()
    await hanako.say("ライター")  # typed again: unpicked, as the ✓ button does
    assert "選択中: ✓カメラマン" in hanako.text() and "✓ライター" not in hanako.text()
    await hanako.say("決定")
    assert (await answers())[12].values == ["photo"]


async def test_skip_is_offered_only_for_optional_questions(hanako: Resident_) -> None:
    await make_round()
    await start(hanako)
    assert "スキップ" not in quick_labels(hanako)
    r = await response()
    q1 = params(hanako.button("3"))["q"]
    # A forged スキップ on a required question: told, nothing saved, the question again.
    await hanako.tap(f"flow=survey&step=skip&r={r.id}&t=1&q={q1}")
    assert "スキップできません" in hanako.text() and "【1/13】" in hanako.text()
    assert await SurveyAnswer.all().count() == 0
    await tap_through(hanako, MIGRANT_TAPS[:6])
    await hanako.tap(hanako.button("スキップ"))  # Q7 is optional
    assert "【8/13】" in hanako.text()
    assert (await answers())[7].skipped


# -- stopping, resuming, answering again ----------------------------------------------------


async def test_stop_and_continue_days_later(
    hanako: Resident_, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_round()
    await start(hanako)
    await tap_through(hanako, ["4", "4", "4"])
    await hanako.tap(hanako.button("やめる"))
    assert "ここまでの回答は保存してあります" in hanako.text()
    # Four days later: the conversation state is long gone, the answers are in the database.
    later = now() + timedelta(days=4)
    for module in (rules, conversation_state, flow):
        monkeypatch.setattr(module, "now", lambda: later)
    await hanako.say("満足度")
    assert "回答の途中です（4問目から）" in hanako.text()
    assert labels(hanako)[:2] == ["続きから（4問目）", "最初から"]
    await hanako.tap(hanako.button("続きから（4問目）"))
    assert "前回の続きから" in hanako.text() and "【4/13】" in hanako.text()
    await hanako.tap(hanako.button("7"))
    assert "【5/13】" in hanako.text()
    await hanako.say("マイページ")
    assert "回答途中（5問目から）" in hanako.text()
    await hanako.tap(hanako.button("続きから"))
    assert "【5/13】" in hanako.text()
    # 最初から: the first question, the answers kept and shown.
    await hanako.say("アンケート")
    await hanako.tap(hanako.button("最初から"))
    assert "【1/13】" in hanako.text() and "（いまの回答: 4）" in hanako.text()
    assert len(await answers()) == 4


async def answer_all(r: Resident_) -> None:
    await start(r)
    await tap_through(r, MIGRANT_TAPS)
    await r.say("2020")
    await r.tap(r.button("カメラマン"))
    await r.tap(r.button("決定"))
    await r.tap(r.button("スキップ"))
    assert THANKS in r.text()


async def test_answering_again_replaces_the_answers_after_a_confirmation(
    hanako: Resident_,
) -> None:
    await make_round()
    await answer_all(hanako)
    await hanako.say("アンケート")
    assert "回答済みです（" in hanako.text()
    assert "「回答し直す」を押すと、前回の回答は新しい回答に置き換わります" in hanako.text()
    await hanako.tap(hanako.button("回答し直す"))
    assert "前回の回答" in hanako.text() and "置き換わります" in hanako.text()
    await hanako.tap(hanako.button("いいえ"))
    assert "前回の回答はそのままです" in hanako.text()
    assert len(await answers()) == 13
    await hanako.say("アンケート")
    await hanako.tap(hanako.button("回答し直す"))
    yes = hanako.button("はい")
    await hanako.tap(yes)
    assert "前回の回答を消して" in hanako.text() and "【1/13】" in hanako.text()
    assert "前回の回答:" not in hanako.text()
    redone = await response()
    assert redone.attempt == 2 and redone.status == ResponseStatus.IN_PROGRESS
    assert await SurveyAnswer.all().count() == 0
    before = len(hanako.fake.delivered("U1"))
    await hanako.tap(yes)  # はい again at once: a double tap, silent
    assert len(hanako.fake.delivered("U1")) == before
    await hanako.tap(hanako.button("2"))
    assert (await answers())[1].number == 2
    assert await SurveyResponse.all().count() == 1


# -- closed, stale, double taps -------------------------------------------------------------


async def test_no_open_survey_says_when_the_next_one_opens(hanako: Resident_) -> None:
    await hanako.say("アンケート")
    assert "いま回答を受け付けているアンケートはありません" in hanako.text()
    await make_round(title="2027年度", opened_days_ago=-20, closes_in_days=50)
    await hanako.tap("flow=survey")
    answer = hanako.text()
    assert "（2027年度）」は" in answer and "から回答できます" in answer


async def test_a_survey_closed_meanwhile_refuses_the_answer(hanako: Resident_) -> None:
    round_ = await make_round()
    await start(hanako)
    await hanako.tap(hanako.button("4"))
    await SurveyRound.filter(id=round_.id).update(closes_at=now() - timedelta(seconds=1))
    await hanako.tap(hanako.button("5"))  # the buttons were shown while it was open
    answer = hanako.text()
    assert "回答期間は" in answer and "終了しました" in answer
    assert "ここまでの回答は保存されています" in answer
    assert list(await answers()) == [1]
    assert (await response()).status == ResponseStatus.IN_PROGRESS
    await hanako.say("アンケート")
    assert "いま回答を受け付けているアンケートはありません" in hanako.text()


async def test_double_taps_and_stale_buttons_change_nothing(hanako: Resident_) -> None:
    await make_round()
    await hanako.say("アンケート")
    begin = hanako.button("始める")
    taps = [events.postback("U1", hanako.fake.issue_reply_token("U1"), begin) for _ in range(3)]
    await asyncio.gather(*(events.post(hanako.client, SECRET, t) for t in taps))
    await hanako.worker.drain()
    await hanako.worker.drain()
    assert await SurveyResponse.all().count() == 1
    assert sum("【1/13】" in shown(d.messages) for d in hanako.fake.delivered("U1")) == 1
    four = hanako.button("4")
    before = len(hanako.fake.delivered("U1"))
    taps = [events.postback("U1", hanako.fake.issue_reply_token("U1"), four) for _ in range(3)]
    await asyncio.gather(*(events.post(hanako.client, SECRET, t) for t in taps))
    await hanako.worker.drain()
    await hanako.worker.drain()
    new = hanako.fake.delivered("U1")[before:]
    assert len(new) == 1 and "【2/13】" in shown(new[0].messages)  # one answer, one reply
    assert await SurveyAnswer.all().count() == 1
    # The same old button a minute later: told where they are, nothing changes.
    await SurveyResponse.all().update(answered_at=now() - timedelta(minutes=1))
    await hanako.tap(hanako.button("3"))  # answers Q2
    await SurveyResponse.all().update(answered_at=now() - timedelta(minutes=1))
    await hanako.tap(four.replace("v=4", "v=1"))  # Q1's button, another answer
    assert "前の質問のもの" in hanako.text() and "【3/13】" in hanako.text()
    saved = await answers()
    assert saved[1].number == 4 and saved[2].number == 3 and len(saved) == 2
    # Forged and foreign ids: answered, nothing changes.
    await hanako.tap("flow=survey&step=ans&r=99999&t=1&q=1&v=1")
    assert "見つかりませんでした" in hanako.text()
    await hanako.tap("flow=survey&step=ans&r=abc&t=x&q=&v=1")
    assert "見つかりませんでした" in hanako.text()
    assert await SurveyAnswer.all().count() == 2


async def test_several_open_surveys_are_cards_to_pick_from(hanako: Resident_) -> None:
    await make_round()
    small = await create_survey(
        SurveySpec(
            "寺子屋についてのアンケート",
            description="講座のご感想をお聞かせください。",
            thanks="参考にします。",
            questions=(
                QuestionSpec(QuestionKind.YESNO, "また参加したいですか？"),
                QuestionSpec(QuestionKind.TEXT, "ご要望は？", required=False),
            ),
        )
    )
    small_round = await make_round(small, title="")
    await hanako.say("アンケート")
    assert "回答を受け付けているアンケートが2件あります" in hanako.text()
    carousel = hanako.last[-1]["contents"]
    assert carousel["type"] == "carousel" and len(carousel["contents"]) == 2
    second = [a for a in hanako.actions() if a["label"] == "始める"][1]["data"]
    await hanako.tap(second)
    assert "【1/2】また参加したいですか？" in hanako.text()
    await hanako.tap(hanako.button("はい"))
    await hanako.tap(hanako.button("スキップ"))
    assert "参考にします。" in hanako.text() and "プロフィール" not in hanako.text()
    picked = await response()
    assert picked.round_id == small_round.id  # type: ignore[attr-defined]


# -- マイページ and the reminder ---------------------------------------------------------------


async def test_mypage_shows_the_status_and_the_profile_button(hanako: Resident_) -> None:
    await make_round()
    await hanako.say("マイページ")
    assert "アンケート・プロフィール" in hanako.text() and "未回答" in hanako.text()
    assert params(hanako.button("プロフィール")) == {"flow": "profile"}
    await hanako.tap(hanako.button("回答する"))
    assert "始める" in labels(hanako)
    await answer_all(hanako)
    await hanako.say("マイページ")
    assert "回答済み（" in hanako.text()
    assert "回答する" not in labels(hanako) and "続きから" not in labels(hanako)


async def test_one_reminder_for_a_survey_left_half_way(
    hanako: Resident_,
    fake_line,
    worker: Worker,
    line,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_round()
    await start(hanako)
    await tap_through(hanako, ["4", "4"])
    soon = now() + timedelta(days=2)
    monkeypatch.setattr(rules, "now", lambda: soon)
    assert await Worker(settings, line).run_schedule_once() == 0
    later = now() + timedelta(days=3, minutes=1)
    monkeypatch.setattr(rules, "now", lambda: later)
    one, two = Worker(settings, line), Worker(settings, line)
    counts = [*await asyncio.gather(one.run_schedule_once(), two.run_schedule_once())]
    counts.append(await one.run_schedule_once())
    assert sum(counts) == 1
    await worker.drain()
    [push] = pushes(fake_line, "U1", "アンケートの回答が途中です")
    text = shown(push)
    assert "続きから回答できます" in text and "3問目から" in text
    assert push[0]["contents"]["body"]["contents"][1]["text"] == "回答の続きのご案内"
    assert "ご回答が途中になっています" in text
    resume = button_data(push, "続きから")
    assert resume["step"] == "start"
    assert await OutboxMessage.filter(dedupe_key__startswith="survey_reminder:").count() == 1
    await hanako.tap(f"flow=survey&step=start&o={resume['o']}")
    assert "【3/13】" in hanako.text()
