"""Check-yourself questions: the build refuses a broken answer key, naming the page and line,
and renders a good one to HTML that reads without JavaScript."""

from pathlib import Path

import pytest
import quiz
from test_failures import build, make_course

CHOICE = """question: 'What does $\\eta$ scale?'
options:
  - text: The step.
    correct: true
    why: It multiplies the gradient.
  - text: The data.
    why: The data are fixed.
"""
MATCH = """question: Match.
match:
  - term: epoch
    definition: one pass
  - term: step
    definition: one update
"""


def fenced(*sources: str) -> str:
    return "# Questions\n\n" + "\n".join(f"```quiz\n{source}```\n" for source in sources)


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        (CHOICE.replace("    correct: true\n", ""), "no option is marked correct: true"),
        (CHOICE.replace("    why: The data are fixed.\n", ""), "option 2 has no 'why'"),
        (MATCH.replace("one update", "one pass"), "definition 'one pass' appears twice"),
        (MATCH.replace("term: step", "term: epoch"), "term 'epoch' appears twice"),
        (CHOICE + "question: again\n", "key given twice: question"),
        ("question: Where are the options?\n", "a question has"),
        ("options: [", "not valid YAML"),
    ],
)
def test_a_broken_answer_key_is_named_with_page_and_line(source: str, complaint: str) -> None:
    text = fenced(CHOICE, source)
    problems = quiz.page_problems(text, "lesson.md")
    second_fence = text.split("\n").index("```quiz", 3) + 1  # counted from 1
    assert len(problems) == 1
    assert problems[0].startswith(f"lesson.md:{second_fence}: ")
    assert complaint in problems[0]


def test_answers_always_in_the_same_position_are_refused() -> None:
    same = quiz.page_problems(fenced(CHOICE, CHOICE), "lesson.md")
    assert same == [
        "lesson.md: the answer of every single-answer question is option 1; vary its position"
    ]
    swapped = CHOICE.replace(
        "  - text: The step.\n    correct: true\n    why: It multiplies the gradient.\n", ""
    )
    swapped += "  - text: The step.\n    correct: true\n    why: It multiplies the gradient.\n"
    assert quiz.page_problems(fenced(CHOICE, swapped), "lesson.md") == []


def test_rendered_questions_read_without_javascript() -> None:
    choice = quiz.render(quiz.parse(CHOICE), "k")
    assert '<span class="arithmatex">\\(\\eta\\)</span>' in choice  # math for MathJax
    assert '<details class="quiz-answer"><summary>Answer</summary>' in choice
    assert "(right): It multiplies the gradient." in choice
    assert "(wrong): The data are fixed." in choice
    matching = quiz.render(quiz.parse(MATCH), "k")
    assert "<li><strong>epoch</strong>: one pass</li>" in matching
    order = [matching.index(f'class="quiz-definition" data-pair="{n}"') for n in (0, 1)]
    assert order[0] > order[1], "the definitions are not in the terms' order"


def test_the_build_fails_on_a_broken_question(tmp_path: Path) -> None:
    done = build(make_course(tmp_path, fenced(CHOICE.replace("    correct: true\n", ""))))
    assert done.returncode != 0
    assert "index.md:3: no option is marked correct: true" in done.stderr
