"""Follow and unfollow: a warm welcome that first says what personal data we keep and why."""

from __future__ import annotations

from line_app.flows.menu import Menu
from line_app.messages import Message, text
from line_app.turn import Turn
from shima.timeutil import now

PRIVACY_NOTICE = (
    "【個人情報の取り扱いについて】\n"
    "このアカウントでお預かりするのは次の情報です。\n"
    "・LINEの表示名と利用者ID（ご本人の確認とご連絡のため）\n"
    "・相談予約、寺子屋・交流会やマーケットの申込み内容（日程の調整と当日の運営のため）\n"
    "・アンケートの回答と、ご自身で登録・回答されたプロフィール（職種・スキル、子育てや副業、"
    "フリーランスの収入、地元・移住、お住まいの地区。支援の改善と計画の成果の確認のため。"
    "集計して使い、個人が特定される形では公表しません）\n"
    "お預かりした情報は、奄美市と相談窓口（WorkStyle Lab Inno）の担当スタッフだけが扱い、"
    "この目的以外には使いません。\n"
    "ご自身の情報の確認や削除は、マイページの「設定」から申請できます（窓口でも受け付けます）。"
    "お知らせ配信が不要なときも「設定」で止められます。"
)


# What each area's line in the greeting says; an area without a line here shows its label.
WHAT_IT_DOES = {
    "consult": "📅 相談予約（WorkStyle Lab Inno での個別相談）",
    "mypage": "👤 マイページ（ご予約・お申込みの確認、プロフィール）",
}


def welcome_messages(name: str | None, menu: Menu) -> list[Message]:
    greeting = f"{name}さん、" if name else ""
    offers = "\n".join(WHAT_IT_DOES.get(i.flow, f"・{i.label}") for i in menu.ready_items())
    coming = "、".join(i.label for i in menu.coming_items())
    return [
        text(
            f"{greeting}友だち追加ありがとうございます！🌺\n"
            "奄美市「フリーランスが最も働きやすい島化計画」の公式LINEです。\n"
            "島で働くフリーランスの方、これから始めたい方、子育てや副業と両立したい方を"
            "応援しています。"
        ),
        text(PRIVACY_NOTICE),
        text(
            f"このトークでできること\n{offers}\n"
            + (f"準備中: {coming}（始まりしだいお知らせします）\n" if coming else "")
            + "画面下のメニュー、または下のボタンからどうぞ。",
            menu.ready_actions(),
        ),
    ]


def welcome_back(name: str | None, menu: Menu) -> Message:
    greeting = f"{name}さん、" if name else ""
    return text(
        f"{greeting}おかえりなさい！🌺 また友だちになっていただきありがとうございます。\n"
        "ご用件を下のボタン、または画面下のメニューからどうぞ。",
        menu.ready_actions(),
    )


async def on_follow(turn: Turn, menu: Menu) -> None:
    resident = turn.resident
    at = now()
    follow = turn.payload.get("follow") or {}
    # Unblocked by someone who has seen the welcome (and the privacy notice) before: brief.
    returning = bool(follow.get("isUnblocked")) and resident.privacy_notice_shown_at is not None
    if turn.profile_name:
        resident.display_name = turn.profile_name[:200]
    resident.is_following = True
    resident.followed_at = at
    resident.unfollowed_at = None
    resident.first_followed_at = resident.first_followed_at or at
    resident.privacy_notice_shown_at = resident.privacy_notice_shown_at or at
    await resident.save()
    if returning:
        turn.reply(welcome_back(resident.display_name or None, menu))
    else:
        turn.reply(*welcome_messages(resident.display_name or None, menu))


async def on_unfollow(turn: Turn) -> None:
    resident = turn.resident
    resident.is_following = False
    resident.unfollowed_at = now()
    await resident.save()  # nothing is sent: LINE would not deliver it anyway


async def ensure_privacy_notice(turn: Turn) -> None:
    """A resident who never saw the notice (followed before this account existed) sees it
    before the first thing we keep from them."""
    if turn.resident.privacy_notice_shown_at is None:
        turn.resident.privacy_notice_shown_at = now()
        await turn.resident.save(update_fields=["privacy_notice_shown_at", "updated_at"])
        turn.reply(text(PRIVACY_NOTICE))
