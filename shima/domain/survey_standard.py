"""The standard 島フリーランス幸せ（ワークライフ）満足度調査: work, life and overall happiness
(1–5), デジタル庁「地域幸福度（Well-Being）指標」's two core questions (幸福度 and 生活満足度,
0–10, in the Cabinet Office's wording, so Amami compares with other municipalities), and what the
profile and the plan's goals need: freelance income and its band, raising children, side job,
地元／移住 (year)／移住検討中, occupation and skills, and a free comment.

Each question's `role` tells the profile (shima.domain.profiles) and the goals
(shima.domain.goals) what it means; the answer values match the profile's codes."""

from __future__ import annotations

from models.survey import QuestionKind, QuestionRole, Survey
from shima.domain import profiles
from shima.domain.surveys import QuestionSpec, SurveySpec, create_survey

SCALE5_HELP = "1（とても不満）〜 5（とても満足）"

STANDARD = SurveySpec(
    title="島フリーランス幸せ（ワークライフ）満足度調査",
    description=(
        "奄美市「フリーランスが最も働きやすい島化計画」の成果を確かめ、支援を良くするための"
        "アンケートです（約3分・13問まで）。回答は集計して使い、個人が特定される形で"
        "公表することはありません。途中でやめても、続きから回答できます。"
    ),
    thanks="ご回答ありがとうございました。いただいた声を、これからの支援に活かします。",
    is_standard=True,
    questions=(
        QuestionSpec(
            QuestionKind.SCALE5,
            "フリーランスとしての「仕事」に、どのくらい満足していますか？",
            help=SCALE5_HELP,
            role=QuestionRole.WORK_SATISFACTION,
        ),
        QuestionSpec(
            QuestionKind.SCALE5,
            "奄美での「暮らし」に、どのくらい満足していますか？",
            help=SCALE5_HELP,
            role=QuestionRole.LIFE_SATISFACTION,
        ),
        QuestionSpec(
            QuestionKind.SCALE5,
            "仕事と暮らしを合わせて、いまの幸せ（ワークライフ）はどのくらいですか？",
            help="1（まったく幸せでない）〜 5（とても幸せ）",
            role=QuestionRole.HAPPINESS,
        ),
        QuestionSpec(
            QuestionKind.SCALE11,
            "現在、あなたはどの程度幸せですか？",
            help="「とても幸せ」を10点、「とても不幸」を0点として、0〜10でお答えください。",
            role=QuestionRole.WB_HAPPINESS,
        ),
        QuestionSpec(
            QuestionKind.SCALE11,
            "現在の生活に、全体としてどの程度満足していますか？",
            help="「非常に満足」を10点、「全く満足していない」を0点として、0〜10でお答えください。",
            role=QuestionRole.WB_LIFE,
        ),
        QuestionSpec(
            QuestionKind.YESNO,
            "この1年に、フリーランスの仕事で収入がありましたか？",
            role=QuestionRole.FREELANCE_INCOME,
        ),
        QuestionSpec(
            QuestionKind.SINGLE,
            "フリーランスの仕事の年収は、おおよそどのくらいですか？",
            required=False,
            choices=tuple(profiles.INCOME_BANDS.items()),
            role=QuestionRole.INCOME_BAND,
            show_if_position=6,
            show_if_values=("yes",),
        ),
        QuestionSpec(
            QuestionKind.YESNO,
            "いま、子育てをしていますか？",
            role=QuestionRole.CHILDREN,
        ),
        QuestionSpec(
            QuestionKind.YESNO,
            "本業とは別に、副業としてフリーランスの仕事をしていますか？",
            role=QuestionRole.SIDE_JOB,
        ),
        QuestionSpec(
            QuestionKind.SINGLE,
            "奄美との関わりを教えてください。",
            choices=tuple(profiles.RESIDENCY.items()),
            role=QuestionRole.RESIDENCY,
        ),
        QuestionSpec(
            QuestionKind.YEAR,
            "奄美に移住したのは何年ですか？",
            help="例: 2024",
            role=QuestionRole.MOVED_YEAR,
            show_if_position=10,
            show_if_values=("migrant",),
        ),
        QuestionSpec(
            QuestionKind.MULTI,
            "お仕事の職種・スキルを選んでください（いくつでも）。",
            choices=tuple(profiles.SKILLS.items()),
            role=QuestionRole.SKILLS,
        ),
        QuestionSpec(
            QuestionKind.TEXT,
            "島での働き方・暮らしについて、ご意見やご感想があればお聞かせください。",
            required=False,
            role=QuestionRole.COMMENT,
        ),
    ),
)


async def standard_survey() -> Survey:
    """The latest version of the standard survey, created if there is none (idempotent)."""
    found = (
        await Survey.filter(is_standard=True, is_archived=False).order_by("-version", "-id").first()
    )
    return found or await create_survey(STANDARD)
