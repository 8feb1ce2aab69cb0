"""The survey builder's form: a plain HTML form that works without JS (one row of fields per
question, repeated names read in order; empty rows are left out, and 「質問欄を増やす」 sends
the form back with more empty rows), read into a surveys.SurveySpec.

A row names its question with `q_key`: "q<id>" for a question of the survey being edited
(its role and its choices' codes are kept: the standard survey's answers stay profile
codes), anything else for a new one. A condition names an earlier row's key and the answers
that show the question, typed as words: a choice's label, はい / いいえ, a number or a year.
Staff-built choices are one label per line, the label also being the stored value."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from admin.forms import too_long, typed_text
from models.survey import QuestionKind, QuestionRole, Survey, SurveyQuestion
from shima.domain import surveys as rules

MAX_ROWS = rules.QUESTIONS_MAX + 10  # rows read from one form (empty ones included)
EMPTY_ROWS = 2  # empty rows under the questions, to add new ones
ADD_ROWS = 3  # rows 「質問欄を増やす」 adds
CHOICES_FIELD_MAX = (rules.CHOICE_LABEL_MAX + 2) * (rules.CHOICES_MAX + 5)
CONDITION_FIELD_MAX = 200
TEXT_LIMITS = {
    "title": ("タイトル", rules.TITLE_MAX),
    "description": ("はじめの説明", rules.DESCRIPTION_MAX),
    "thanks": ("お礼のメッセージ", rules.THANKS_MAX),
}
KEY = re.compile(r"(q[0-9]{1,10}|n[0-9a-z]{1,24})")
SEPARATORS = re.compile(r"[、,，/／\n]+")
YES_WORDS = {"はい": "yes", "yes": "yes", "no": "no", "いいえ": "no"}
ROW_FIELDS = (
    "q_key",
    "q_kind",
    "q_text",
    "q_help",
    "q_required",
    "q_choices",
    "q_if",
    "q_if_values",
)
KIND_CHOICES = [(k.value, k.label) for k in QuestionKind]


@dataclass
class Row:
    """A question row as the form shows it (typed values, strings)."""

    key: str
    kind: str = QuestionKind.SCALE5.value
    text: str = ""
    help: str = ""
    required: str = "1"
    choices: str = ""
    show_if: str = ""
    show_if_values: str = ""
    role: str = ""  # the kept question's role (shown as a note)
    coded: bool = False  # its choices are codes (a role's): labels must match

    @property
    def empty(self) -> bool:
        return not (self.text.strip() or self.help.strip() or self.choices.strip())

    @property
    def role_label(self) -> str:
        return rules.ROLE_LABELS.get(QuestionRole(self.role), "") if self.role else ""


@dataclass
class Values:
    """The whole form as shown: the survey's texts and its rows."""

    title: str = ""
    description: str = ""
    thanks: str = ""
    rows: list[Row] = field(default_factory=list)


def blank_rows(rows: Sequence[Row], count: int = EMPTY_ROWS) -> list[Row]:
    used = {r.key for r in rows}
    made: list[Row] = []
    n = 1
    while len(made) < count:
        key = f"n{n}"
        if key not in used:
            made.append(Row(key))
        n += 1
    return made


def with_blanks(values: Values, count: int = EMPTY_ROWS) -> Values:
    filled = [r for r in values.rows if not r.empty]
    values.rows = filled + blank_rows(filled, max(count, 1))
    return values


def choice_lines(q: SurveyQuestion) -> str:
    return "\n".join(c["label"] for c in q.choices or [])


def condition_words(source: SurveyQuestion | None, values: Sequence[str]) -> str:
    """The stored condition values as staff type them (labels, はい / いいえ)."""
    labels = {c["value"]: c["label"] for c in (source.choices if source else []) or []}
    words = {"yes": "はい", "no": "いいえ"} if source and source.kind == QuestionKind.YESNO else {}
    return "、".join(words.get(v, labels.get(v, v)) for v in values)


def values_of(survey: Survey, questions: Sequence[SurveyQuestion]) -> Values:
    """The form's values for an existing survey (its questions keyed by id)."""
    by_id = {q.id: q for q in questions}
    rows = []
    for q in questions:
        source = by_id.get(q.show_if_id) if q.show_if_id else None  # type: ignore[attr-defined]
        role = QuestionRole(q.role)
        rows.append(
            Row(
                key=f"q{q.id}",
                kind=QuestionKind(q.kind).value,
                text=q.text,
                help=q.help,
                required="1" if q.required else "0",
                choices=choice_lines(q),
                show_if=f"q{source.id}" if source else "",
                show_if_values=condition_words(source, q.show_if_values or []),
                role=role.value,
                coded=role in rules.ROLE_CODES,
            )
        )
    return with_blanks(Values(survey.title, survey.description, survey.thanks, rows))


def typed_values(form: FormData, kept: Mapping[int, SurveyQuestion]) -> tuple[Values, list[str]]:
    """The form as typed (to show again) and what could not be read at all."""
    lists = [[v if isinstance(v, str) else "" for v in form.getlist(name)] for name in ROW_FIELDS]
    problems = []
    count = len(lists[0])
    if any(len(values) != count for values in lists):
        problems.append(
            "質問欄を読み取れませんでした。ページを読み込み直して、もう一度入力してください。"
        )
        count = min(len(values) for values in lists)
    if count > MAX_ROWS:
        problems.append(f"質問欄が多すぎます（{MAX_ROWS}行まで）。空の行を減らしてください。")
        count = MAX_ROWS
    rows: list[Row] = []
    seen: set[str] = set()
    for n in range(count):
        key, kind, text, help_, required, choices, show_if, if_values = (v[n] for v in lists)
        key = key.strip()
        if not KEY.fullmatch(key) or key in seen:
            key = f"n{n + 1}x"
        seen.add(key)
        question = kept.get(int(key[1:])) if key.startswith("q") else None
        role = QuestionRole(question.role) if question else QuestionRole.NONE
        rows.append(
            Row(
                key=key,
                kind=kind if kind in QuestionKind._value2member_map_ else QuestionKind.SCALE5.value,
                text=text,
                help=help_,
                required="0" if required == "0" else "1",
                choices=choices,
                show_if=show_if.strip()[:40],
                show_if_values=if_values,
                role=role.value,
                coded=role in rules.ROLE_CODES,
            )
        )
    values = Values(
        typed_text(form, "title"), typed_text(form, "description"), typed_text(form, "thanks"), rows
    )
    return values, problems


def _choices(row: Row, question: SurveyQuestion | None) -> tuple[tuple[str, str], ...]:
    """One label per line; a label the kept question had keeps its value (a code)."""
    known = {c["label"]: c["value"] for c in (question.choices if question else []) or []}
    labels = [" ".join(line.split()) for line in row.choices.splitlines()]
    return tuple((known.get(label, label), label) for label in labels if label)


def _condition(words: str, source: rules.QuestionSpec) -> tuple[str, ...]:
    """The typed answers as stored values: a choice's label or value, はい / いいえ, digits."""
    found = []
    by_label = {label: value for value, label in source.choices}
    values = {value for value, _ in source.choices}
    for word in SEPARATORS.split(words):
        word = " ".join(word.split())
        if not word:
            continue
        if source.kind == QuestionKind.YESNO:
            found.append(YES_WORDS.get(word.lower(), word))
        elif source.kind in (QuestionKind.SINGLE, QuestionKind.MULTI):
            found.append(word if word in values else by_label.get(word, word))
        else:
            found.append(unicodedata.normalize("NFKC", word).rstrip("年点"))
    return tuple(dict.fromkeys(found))


def parse(
    form: FormData, kept: Mapping[int, SurveyQuestion], *, is_standard: bool = False
) -> tuple[rules.SurveySpec | None, Values, list[str]]:
    """The survey the form describes (None when it cannot be read), the typed values with
    empty rows left out (so the rules' 「質問N」 match the rows shown), and what is wrong
    that the rules do not check (sizes of the form's own fields)."""
    values, problems = typed_values(form, kept)
    problems = too_long(form, TEXT_LIMITS) + problems
    rows = [r for r in values.rows if not r.empty]
    values.rows = rows
    position = {r.key: n for n, r in enumerate(rows, start=1)}
    specs: list[rules.QuestionSpec] = []
    for n, row in enumerate(rows, start=1):
        question = kept.get(int(row.key[1:])) if row.key.startswith("q") else None
        kind = QuestionKind(row.kind)
        if len(row.choices) > CHOICES_FIELD_MAX:
            problems.append(f"質問{n}の選択肢が長すぎます（{CHOICES_FIELD_MAX}文字まで）。")
        if len(row.show_if_values) > CONDITION_FIELD_MAX:
            problems.append(
                f"質問{n}の表示条件の回答が長すぎます（{CONDITION_FIELD_MAX}文字まで）。"
            )
        choices = (
            _choices(row, question) if kind in (QuestionKind.SINGLE, QuestionKind.MULTI) else ()
        )
        show_if: int | None = None
        condition: tuple[str, ...] = ()
        if row.show_if:
            show_if = position.get(row.show_if, n)  # an empty or later row: the rules refuse
            if show_if < n:
                condition = _condition(row.show_if_values, specs[show_if - 1])
        specs.append(
            rules.QuestionSpec(
                kind=kind,
                text=row.text,
                help=row.help,
                required=row.required != "0",
                choices=choices,
                role=QuestionRole(row.role) if row.role else QuestionRole.NONE,
                show_if_position=show_if,
                show_if_values=condition,
            )
        )
    spec = rules.SurveySpec(
        title=values.title.strip(),
        description=values.description.strip(),
        thanks=values.thanks.strip(),
        questions=tuple(specs),
        is_standard=is_standard,
    )
    return (None if problems else spec), values, problems


def earlier_rows(rows: Sequence[Row]) -> list[list[tuple[str, str]]]:
    """For each row, the rows before it a condition may name: (key, 「質問N：text」)."""
    options: list[list[tuple[str, str]]] = []
    shown: list[tuple[str, str]] = []
    for n, row in enumerate(rows, start=1):
        options.append(list(shown))
        if not row.empty and row.kind != QuestionKind.TEXT.value:
            text = row.text.strip() or "（未入力）"
            short = text if len(text) <= 24 else text[:23] + "…"
            shown.append((row.key, f"質問{n}：{short}"))
    return options


def template_context(values: Values) -> dict[str, Any]:
    return {
        "values": values,
        "kinds": KIND_CHOICES,
        "earlier": earlier_rows(values.rows),
        "limits": {
            "title": rules.TITLE_MAX,
            "description": rules.DESCRIPTION_MAX,
            "thanks": rules.THANKS_MAX,
            "text": rules.QUESTION_TEXT_MAX,
            "help": rules.HELP_MAX,
            "choices": CHOICES_FIELD_MAX,
            "choice": rules.CHOICE_LABEL_MAX,
            "choices_max": rules.CHOICES_MAX,
            "condition": CONDITION_FIELD_MAX,
            "questions": rules.QUESTIONS_MAX,
        },
    }
