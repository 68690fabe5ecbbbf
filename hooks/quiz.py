"""MkDocs hook: "Check yourself" questions, written in Markdown as ```quiz fences holding YAML.

A multiple-choice question has `question` and `options`, each option a `text`, a `why` (the
reason it is right or wrong) and, for the right ones, `correct: true`. A matching question has
`question` and `match`, a list of `term` and `definition` pairs. Text may hold inline Markdown
and $math$.

The build checks every question of a page, naming the page and line, and fails on a broken
answer key: no correct option, an option without a reason, a matching that is not one-to-one,
or a page whose single-answer questions all have their answer in the same position. It renders
each question to plain HTML that reads without JavaScript (the answers folded in a
`<details>`); docs/javascripts/quiz.js makes the options answer back, by mouse and keyboard,
and the terms pair with definitions by click, by keyboard or by dragging.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown
import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

LETTERS = "ABCDEFGH"  # options are labelled A, B, C, ... on the page
FENCE = re.compile(r"^(\s*)```quiz\s*$")
CHOICE_KEYS = {"question", "options"}
MATCH_KEYS = {"question", "match"}


class QuizError(ValueError):
    pass


@dataclass(frozen=True)
class Option:
    text: str
    why: str
    correct: bool


@dataclass(frozen=True)
class Quiz:
    question: str
    options: tuple[Option, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()  # (term, definition)

    @property
    def correct_positions(self) -> tuple[int, ...]:
        return tuple(n for n, option in enumerate(self.options, start=1) if option.correct)


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice (plain YAML keeps the last one, silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(key) for key in keys if keys.count(key) > 1})
        if repeated:
            raise QuizError(f"key given twice: {', '.join(repeated)}")
        return super().construct_mapping(node, deep=deep)


def text_of(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise QuizError(f"{where} has no {key!r}")
    return value.strip()


def parse(source: str) -> Quiz:
    """One question from its YAML, or QuizError saying what is wrong with it."""
    try:
        data = yaml.load(source, Loader=UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as error:
        raise QuizError(f"not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise QuizError("write the question as YAML keys: question, then options or match")
    if set(data) not in (CHOICE_KEYS, MATCH_KEYS):
        raise QuizError(
            f"keys {sorted(data)}: a question has {sorted(CHOICE_KEYS)} or {sorted(MATCH_KEYS)}"
        )
    question = text_of(data, "question", "the question")
    if "options" in data:
        items = data["options"]
        if not isinstance(items, list) or not 2 <= len(items) <= len(LETTERS):
            raise QuizError(f"give between two and {len(LETTERS)} options")
        options = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict) or not set(item) <= {"text", "why", "correct"}:
                raise QuizError(f"option {n}: its keys are text, why and (if right) correct")
            correct = item.get("correct", False)
            if not isinstance(correct, bool):
                raise QuizError(f"option {n}: correct is true or false")
            options.append(
                Option(
                    text_of(item, "text", f"option {n}"),
                    text_of(item, "why", f"option {n}"),
                    correct,
                )
            )
        if not any(option.correct for option in options):
            raise QuizError("no option is marked correct: true")
        return Quiz(question, options=tuple(options))
    items = data["match"]
    if not isinstance(items, list) or len(items) < 2:
        raise QuizError("give at least two term and definition pairs")
    pairs = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) != {"term", "definition"}:
            raise QuizError(f"pair {n}: its keys are term and definition")
        pairs.append((text_of(item, "term", f"pair {n}"), text_of(item, "definition", f"pair {n}")))
    for side, values in (("term", [t for t, _ in pairs]), ("definition", [d for _, d in pairs])):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise QuizError(f"the matching is not one-to-one: {side} {repeated[0]!r} appears twice")
    return Quiz(question, pairs=tuple(pairs))


def quiz_fences(text: str) -> list[tuple[int, str]]:
    """(line of the opening fence, YAML source) for every quiz fence, indented or not."""
    lines = text.split("\n")
    found = []
    n = 0
    while n < len(lines):
        opening = FENCE.match(lines[n])
        if opening:
            indent, body = opening.group(1), []
            n += 1
            while n < len(lines) and lines[n].strip() != "```":
                body.append(lines[n][len(indent) :])
                n += 1
            found.append((n - len(body), "\n".join(body)))
        n += 1
    return found


def page_problems(text: str, label: str) -> list[str]:
    """Every broken question of a page, as `page:line: what is wrong`."""
    problems, single_answers = [], []
    for line, source in quiz_fences(text):
        try:
            quiz = parse(source)
        except QuizError as error:
            problems.append(f"{label}:{line}: {error}")
            continue
        if len(quiz.correct_positions) == 1:
            single_answers.append(quiz.correct_positions[0])
    if len(single_answers) >= 2 and len(set(single_answers)) == 1:
        problems.append(
            f"{label}: the answer of every single-answer question is option "
            f"{single_answers[0]}; vary its position"
        )
    return problems


# --- Rendering --------------------------------------------------------------------------------

INLINE = markdown.Markdown(
    extensions=["pymdownx.arithmatex", "pymdownx.inlinehilite"],
    extension_configs={"pymdownx.arithmatex": {"generic": True}},
)


def inline(text: str) -> str:
    """Inline Markdown to HTML, math left for MathJax as on the rest of the page."""
    INLINE.reset()
    rendered = INLINE.convert(text)
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.DOTALL)


def choice_hint(quiz: Quiz) -> str:
    several = len(quiz.correct_positions) > 1
    return "Choose every correct answer." if several else "Choose one answer."


def render(quiz: Quiz, key: str) -> str:
    parts = [f'<div class="quiz" data-quiz id="quiz-{key}">']
    parts.append(f'<p class="quiz-question">{inline(quiz.question)}</p>')
    if quiz.options:
        parts.append(f'<p class="quiz-hint">{choice_hint(quiz)}</p><ol class="quiz-options">')
        for n, option in enumerate(quiz.options, start=1):
            verdict = "Right" if option.correct else "Not quite"
            parts.append(
                f'<li><button type="button" class="quiz-option" aria-pressed="false" '
                f'data-correct="{str(option.correct).lower()}" '
                f'aria-describedby="quiz-{key}-{n}">'
                f'<span class="quiz-letter">{LETTERS[n - 1]}</span> '
                f"{inline(option.text)}</button>"
                f'<div class="quiz-feedback" id="quiz-{key}-{n}" role="status" hidden>'
                f"<strong>{verdict}.</strong> {inline(option.why)}</div></li>"
            )
        parts.append('</ol><details class="quiz-answer"><summary>Answer</summary><ul>')
        for n, option in enumerate(quiz.options, start=1):
            verdict = "right" if option.correct else "wrong"
            parts.append(
                f"<li><strong>{LETTERS[n - 1]}. {inline(option.text)}</strong> ({verdict}): "
                f"{inline(option.why)}</li>"
            )
        parts.append("</ul></details>")
    else:
        parts.append(
            '<p class="quiz-hint">Pick a term, then its definition; or drag the term onto '
            "its definition.</p>"
        )
        parts.append('<div class="quiz-columns"><ul class="quiz-terms">')
        for n, (term, _) in enumerate(quiz.pairs):
            parts.append(
                f'<li><button type="button" class="quiz-term" aria-pressed="false" '
                f'draggable="true" data-pair="{n}">{inline(term)}</button></li>'
            )
        parts.append('</ul><ul class="quiz-definitions">')
        for n in shuffled(len(quiz.pairs), key):
            parts.append(
                f'<li><button type="button" class="quiz-definition" data-pair="{n}">'
                f"{inline(quiz.pairs[n][1])}</button></li>"
            )
        parts.append('</ul></div><p class="quiz-feedback" role="status" aria-live="polite"></p>')
        parts.append('<details class="quiz-answer"><summary>Answer</summary><ul>')
        for term, definition in quiz.pairs:
            parts.append(f"<li><strong>{inline(term)}</strong>: {inline(definition)}</li>")
        parts.append("</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def as_markdown(quiz: Quiz, key: str) -> str:
    """The question as plain Markdown with its answer folded: for notebooks, where no script
    runs. Definitions keep the page's order, so the two read alike."""
    lines = [f"**Question.** {quiz.question}", ""]
    if quiz.options:
        lines += [f"*{choice_hint(quiz)}*", ""]
        lines += [f"- **{LETTERS[n]}.** {option.text}" for n, option in enumerate(quiz.options)]
        answers = [
            f"- **{LETTERS[n]}** ({'right' if option.correct else 'wrong'}): {option.why}"
            for n, option in enumerate(quiz.options)
        ]
    else:
        lines += ["Terms:", ""] + [f"- {term}" for term, _ in quiz.pairs]
        lines += ["", "Definitions:", ""]
        lines += [f"- {quiz.pairs[n][1]}" for n in shuffled(len(quiz.pairs), key)]
        answers = [f"- **{term}**: {definition}" for term, definition in quiz.pairs]
    lines += ["", "<details><summary>Answer</summary>", "", *answers, "", "</details>"]
    return "\n".join(lines)


def quiz_key(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:10]


def shuffled(count: int, key: str) -> list[int]:
    """The definitions' order: fixed for a question (every build the same), never the terms'."""
    order = sorted(range(count), key=lambda n: hashlib.sha256(f"{key}{n}".encode()).digest())
    if order == list(range(count)):
        order = order[1:] + order[:1]
    return order


def fence_format(
    source: str, language: str, css_class: str, options: Any, md: Any, **_: Any
) -> str:
    """pymdownx.superfences calls this for every ```quiz fence."""
    try:
        quiz = parse(source)
    except QuizError as error:  # on_page_markdown has named the page and line already
        raise PluginError(f"quiz: {error}") from None
    return render(quiz, html.escape(quiz_key(source)))


# --- Hook entry points --------------------------------------------------------------------------


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    superfences = config.mdx_configs.setdefault("pymdownx.superfences", {})
    fences = superfences.setdefault("custom_fences", [])
    if not any(fence.get("name") == "quiz" for fence in fences):
        fences.append({"name": "quiz", "class": "quiz", "format": fence_format})
    return config


def on_page_markdown(markdown_text: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    # the page as written, so that line numbers are the author's
    written = Path(str(page.file.abs_src_path)).read_text(encoding="utf-8")
    problems = page_problems(written, page.file.src_uri)
    if problems:
        raise PluginError("broken quiz questions:\n" + "\n".join(problems))
    return markdown_text
